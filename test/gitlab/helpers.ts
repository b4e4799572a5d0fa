/**
 * Shared by the GitLab component tests: the template and its inputs, a throw-away GitLab project (a git repository
 * that includes the template) run by gitlab-ci-local, and GitLab's own CI JSON schema.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import vm from 'node:vm';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import yaml from 'js-yaml';
import { INPUTS, type InputSpec } from '../../src/core/inputs.js';
import { NODE } from '../support/runner.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const TEMPLATE = join(ROOT, 'gitlab/templates/scalingo.yml');
/** The committed copy for `include: remote:`, and the script that makes it and publishes the component. */
export const REMOTE_TEMPLATE = join(ROOT, 'gitlab/remote/scalingo.yml');
export const PUBLISH = join(ROOT, 'gitlab/publish.sh');
export const README = join(ROOT, 'gitlab/README.md');
export const GITLAB_CI_LOCAL = join(ROOT, 'node_modules/.bin/gitlab-ci-local');
export const TOKEN = 'tk-us-test-0123456789abcdef';
/** The origin of the throw-away projects; gitlab-ci-local derives CI_PROJECT_URL and CI_SERVER_URL from it. */
export const PROJECT_URL = 'https://gitlab.com/group/project';

/** The predefined variables of merge request !42's pipeline, from feature-42 into main of the same project. */
export const MERGE_REQUEST = {
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '42',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature-42',
  CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
  CI_MERGE_REQUEST_PROJECT_ID: '1001',
  CI_MERGE_REQUEST_SOURCE_PROJECT_ID: '1001',
  CI_MERGE_REQUEST_TITLE: 'Add a feature',
};

/** Template inputs that are not scalingo-deploy settings. */
export const TEMPLATE_ONLY_INPUTS = [
  'stage',
  'job-prefix',
  'image',
  'package',
  'deployment-tier',
  'auto-stop-in',
] as const;
/** The settings the template exposes: every GitLab input but secrets (the token is a CI/CD variable). */
export const SETTING_INPUTS: readonly InputSpec[] = INPUTS.filter(
  (i) => i.platforms.includes('gitlab') && i.type !== 'secret',
);

export { yaml };

export type Json = Record<string, unknown>;

export interface InputDefinition {
  description?: unknown;
  type?: unknown;
  default?: unknown;
  options?: unknown;
  regex?: unknown;
}

/**
 * The template as `include: remote:` (and `include: local:`, as these tests include it) gets it: GitLab gives
 * component context (`$[[ component.version ]]`) to `include: component:` only, so gitlab/publish.sh writes the
 * version in. `version` defaults to package.json's.
 */
export function standaloneTemplate(version?: string): string {
  const key = version ?? '';
  let text = standaloneTemplates.get(key);
  if (text === undefined) {
    text = execFileSync('sh', [PUBLISH, 'remote-file', ...(version ? [version] : [])], { encoding: 'utf8' });
    standaloneTemplates.set(key, text);
  }
  return text;
}
/** publish.sh's output by version: the same in one test run, so made once per test file. */
const standaloneTemplates = new Map<string, string>();

export interface TemplateHeader {
  spec: { component?: string[]; inputs: Record<string, InputDefinition> };
}

/** The template's two documents: the `spec:` header and the jobs. */
export function readTemplate(): {
  text: string;
  header: TemplateHeader;
  inputs: Record<string, InputDefinition>;
  jobs: Record<string, Json>;
} {
  const text = readFileSync(TEMPLATE, 'utf8');
  const [header, jobs] = yaml.loadAll(text) as [TemplateHeader, Record<string, Json>];
  return { text, header, inputs: header.spec.inputs, jobs };
}

export function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// ---- a throw-away GitLab project ---------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  /** stdout and stderr, in arrival order. */
  output: string;
  stdout: string;
}

export interface PipelineOptions {
  /** CI/CD variables of the pipeline (`--variable`). */
  variables?: Record<string, string>;
  /** Predefined variables to remove, e.g. CI_COMMIT_BRANCH in a merge request pipeline. */
  unset?: string[];
  /** Run only these jobs (manual ones included). */
  jobs?: string[];
  /** Environment of the "runner", on top of PATH and HOME; npm settings go here. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Whether gitlab-ci-local checks the configuration against GitLab's CI schema (about half the CPU time of a
 * `--preview` or `--list-json`). `auto` (default): on the first run of the project only, since every run of a
 * project expands the same configuration; `false`: never, for callers that check the expanded configuration
 * with {@link schemaErrors} themselves (the same schema, formats included).
 */
export type SchemaCheck = 'auto' | false;

export interface ProjectOptions {
  /**
   * `component`: `templates/scalingo.yml` is the component itself, for `include: component:` of the project's own
   * commit (gitlab-ci-local gives it the commit SHA as `component.version`; GitLab gives a version only to a
   * released component, and nothing for a commit). `standalone` (default): the copy for remote and local includes,
   * with package.json's version written in.
   */
  template?: 'component' | 'standalone';
}

/**
 * A git repository with `templates/scalingo.yml` (a copy of the component) and a `.gitlab-ci.yml`, committed on
 * `main` with an `origin` on gitlab.com, as gitlab-ci-local needs. Nothing of the machine's environment leaks into
 * its runs but PATH.
 */
export class Project {
  readonly dir: string;
  readonly home: string;
  private readonly base = mkdtempSync(join(tmpdir(), 'scalingo-gitlab-'));

  constructor(ciConfig: unknown, options: ProjectOptions = {}) {
    this.dir = join(this.base, 'project');
    this.home = join(this.base, 'home');
    mkdirSync(join(this.dir, 'templates'), { recursive: true });
    mkdirSync(this.home, { recursive: true });
    if (options.template === 'component') cpSync(TEMPLATE, join(this.dir, 'templates/scalingo.yml'));
    else writeFileSync(join(this.dir, 'templates/scalingo.yml'), standaloneTemplate());
    writeFileSync(
      join(this.dir, '.gitlab-ci.yml'),
      typeof ciConfig === 'string' ? ciConfig : yaml.dump(ciConfig, { lineWidth: -1 }),
    );
    writeFileSync(join(this.dir, '.gitignore'), '.gitlab-ci-local/\n');
    const git = (...args: string[]): string => {
      return execFileSync('git', args, {
        cwd: this.dir,
        env: { PATH: process.env.PATH ?? '', HOME: this.home },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    };
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'Test User');
    git('config', 'user.email', 'test-user@example.com');
    git('remote', 'add', 'origin', `${PROJECT_URL}.git`);
    git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    git('add', '-A');
    git('-c', 'maintenance.auto=false', 'commit', '-q', '-m', 'Initial commit');
    this.sha = git('rev-parse', 'HEAD').trim();
  }

  /** The commit of the project, which gitlab-ci-local takes as the version of a component it includes. */
  readonly sha: string;

  /** Whether a run of gitlab-ci-local already checked this project's configuration against GitLab's schema. */
  private schemaChecked = false;

  /** A project whose `.gitlab-ci.yml` includes the template with these inputs. */
  static including(inputs: Json): Project {
    return new Project({ include: [{ local: 'templates/scalingo.yml', inputs }] });
  }

  /** Runs the pipeline (or the given jobs) with the shell executor, as toolchain constraints allow here. */
  pipeline(options: PipelineOptions & { schema?: SchemaCheck } = {}): Promise<RunResult> {
    const variables = options.variables ?? {};
    const names = [...Object.keys(variables), ...(options.unset ?? [])];
    const predefined = names.filter((n) => n.startsWith('CI_') || n.startsWith('GITLAB_'));
    return this.gitlabCiLocal(
      [
        '--force-shell-executor',
        '--shell-isolation',
        '--no-artifacts-to-source',
        ...(predefined.length ? ['--ignore-predefined-vars', predefined.join(',')] : []),
        ...Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`]),
        ...(options.unset ?? []).flatMap((k) => ['--unset-variable', k]),
        ...(options.jobs ?? []),
      ],
      options,
    );
  }

  /** The configuration as GitLab would run it: includes, inputs and extends expanded. */
  async preview(options: { schema?: SchemaCheck } = {}): Promise<{ config: Json; text: string }> {
    const result = await this.gitlabCiLocal(['--preview'], options);
    if (result.code !== 0) throw new Error(`gitlab-ci-local --preview failed (${result.code}):\n${result.output}`);
    return { config: yaml.load(result.stdout) as Json, text: result.stdout };
  }

  /** The jobs a pipeline would have, with their `when` (`never` for the ones its rules leave out). */
  async jobs(
    options: Pick<PipelineOptions, 'variables' | 'unset'> & { schema?: SchemaCheck } = {},
  ): Promise<Record<string, string>> {
    const variables = options.variables ?? {};
    const names = [...Object.keys(variables), ...(options.unset ?? [])];
    const result = await this.gitlabCiLocal(
      [
        '--list-json',
        ...(names.length ? ['--ignore-predefined-vars', names.join(',')] : []),
        ...Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`]),
        ...(options.unset ?? []).flatMap((k) => ['--unset-variable', k]),
      ],
      options,
    );
    if (result.code !== 0) throw new Error(`gitlab-ci-local --list-json failed (${result.code}):\n${result.output}`);
    const list = JSON.parse(result.stdout) as { name: string; when: string }[];
    return Object.fromEntries(list.map((j) => [j.name, j.when]));
  }

  /** The dotenv report a job left as an artifact (GitLab's `artifacts:reports:dotenv`). */
  dotenv(job: string): Record<string, string> | undefined {
    const file = join(this.dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv/scalingo.env');
    if (!existsSync(file)) return undefined;
    return Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  remove(): void {
    rmSync(this.base, { recursive: true, force: true });
  }

  private async gitlabCiLocal(
    args: string[],
    options: Pick<PipelineOptions, 'env' | 'timeoutMs'> & { schema?: SchemaCheck } = {},
  ): Promise<RunResult> {
    const checkSchema = (options.schema ?? 'auto') === 'auto' && !this.schemaChecked;
    if (checkSchema) this.schemaChecked = true;
    await gitlabCiLocalSlot();
    try {
      return await this.spawnGitlabCiLocal(args, checkSchema, options);
    } finally {
      releaseGitlabCiLocalSlot();
    }
  }

  private spawnGitlabCiLocal(
    args: string[],
    checkSchema: boolean,
    options: Pick<PipelineOptions, 'env' | 'timeoutMs'>,
  ): Promise<RunResult> {
    // The jobs' npx runs the node found first on PATH: the one the end-to-end runs use (SCALINGO_TEST_NODE, e.g.
    // Node 24), while gitlab-ci-local itself keeps the node of the tests.
    const env = {
      PATH: `${dirname(NODE)}${delimiter}${process.env.PATH ?? ''}`,
      HOME: this.home,
      ...options.env,
    };
    return new Promise((resolvePromise, reject) => {
      const flags = ['--no-color', '--home', this.home, ...(checkSchema ? [] : ['--no-json-schema-validation'])];
      const child = spawn(process.execPath, [GITLAB_CI_LOCAL, ...args, ...flags], {
        cwd: this.dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      let stdout = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, output, stdout });
      });
    });
  }
}

/**
 * Tests may start gitlab-ci-local runs at once (each is a Node process of about 100 MB that mostly computes): a few
 * at a time per test file, the others wait their turn.
 */
const GITLAB_CI_LOCAL_AT_ONCE = 3;
let gitlabCiLocalRunning = 0;
const gitlabCiLocalWaiting: (() => void)[] = [];

function gitlabCiLocalSlot(): Promise<void> {
  if (gitlabCiLocalRunning < GITLAB_CI_LOCAL_AT_ONCE) {
    gitlabCiLocalRunning++;
    return Promise.resolve();
  }
  return new Promise((resolveSlot) => gitlabCiLocalWaiting.push(resolveSlot));
}

function releaseGitlabCiLocalSlot(): void {
  const next = gitlabCiLocalWaiting.shift();
  if (next) next();
  else gitlabCiLocalRunning--;
}

/** `npm pack` of this repository (its built dist/) into `dir`: what the npm registry would serve. */
export function packPackage(dir: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [packed] = JSON.parse(out) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no file: ${out}`);
  return join(dir, packed.filename);
}

/** npm settings for the jobs' npx: a private cache, and no network at all (the package is a local tarball). */
export function offlineNpm(cacheDir: string): Record<string, string> {
  return {
    npm_config_cache: cacheDir,
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

// ---- GitLab's CI JSON schema -------------------------------------------------------------------------------------

let schemaValidator: ((data: unknown) => ErrorObject[]) | undefined;

/**
 * GitLab's CI JSON schema (draft-07), as gitlab-ci-local embeds it in its bundle: the object literal whose `$id` is
 * https://gitlab.com/.gitlab-ci.yml, evaluated in an empty context.
 */
export function gitlabCiSchema(): Json {
  const bundle = readFileSync(join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js'), 'utf8');
  const id = bundle.indexOf('$id:"https://gitlab.com/.gitlab-ci.yml"');
  const start = bundle.lastIndexOf('{$schema:', id);
  if (id < 0 || start < 0) throw new Error("GitLab CI schema not found in gitlab-ci-local's bundle");
  const literal = bundle.slice(start, matchingBrace(bundle, start) + 1);
  return JSON.parse(JSON.stringify(vm.runInNewContext(`(${literal})`))) as Json;
}

/** Index of the `}` that closes the `{` at `start`, skipping string literals. */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '{') {
      depth++;
    } else if (c === '}' && --depth === 0) {
      return i;
    }
  }
  throw new Error('unbalanced object literal');
}

/** Errors of GitLab's schema on a configuration (an empty list when it is valid). */
export function schemaErrors(config: unknown): ErrorObject[] {
  if (!schemaValidator) {
    const addFormats = addFormatsModule as unknown as (a: Ajv, formats?: string[]) => Ajv;
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    // GitLab expands CI/CD variables in `environment:url` when the job runs (the URL of a dotenv report, documented
    // as dynamic environment URLs): a value with a variable is not a URI yet, the others must be.
    const uri = addFormats(new Ajv(), ['uri']).compile({ type: 'string', format: 'uri' });
    ajv.addFormat('uri', (value: string) => /\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/.test(value) || uri(value));
    const validate = ajv.compile(gitlabCiSchema());
    schemaValidator = (data) => (validate(data) ? [] : [...(validate.errors ?? [])]);
  }
  return schemaValidator(config);
}

// ---- what the fake Scalingo saw ----------------------------------------------------------------------------------

export interface SeenRequest {
  service?: string;
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

/** `METHOD path` of each request, in arrival order. */
export function lines(requests: readonly SeenRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.path}`);
}
