/**
 * A local run of .github/workflows/release.yml: its jobs in `needs` order, each in a fresh clone of a bare repository
 * standing for GitHub (checked out at the pushed tag, as actions/checkout does), each `run:` step run by bash as the
 * runner runs it (`bash --noprofile --norc -eo pipefail`), with the step's `env:` and `if:` evaluated. Around it, what
 * the steps talk to, all on this machine: a fake npm registry (npm itself runs, `npm publish` as a dry run), a fake
 * `gh` (fake-gh.js), and a bare repository standing for the GitLab Catalog project. Nothing reaches the network.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { ROOT } from '../support/runner.js';

export const WORKFLOW_FILE = join(ROOT, '.github/workflows/release.yml');
export const PACKAGE = 'scalingo-deploy';
export const REPOSITORY = 'scalingo-deploy/scalingo-deploy';
export const CATALOG_PROJECT = 'scalingo-deploy/scalingo-deploy';

export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
export interface Job {
  needs?: string | string[];
  if?: string;
  steps: Step[];
  strategy?: { matrix: Record<string, unknown[]> };
  environment?: unknown;
  permissions?: Record<string, string>;
}
export interface Workflow {
  on: { push: { tags: string[] } };
  env?: Record<string, string>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

export function loadWorkflow(): Workflow {
  return yaml.load(readFileSync(WORKFLOW_FILE, 'utf8')) as Workflow;
}

/**
 * Steps the dry run does not run, each for a reason: they install or build with the network or take minutes, and the
 * test suite covers them otherwise (this suite is `npm test`; CI runs the build and diffs dist/).
 */
export const NOT_RUN: Record<string, string> = {
  "Install rsync and shellcheck (gitlab-ci-local and the template's script)": 'apt-get on the runner',
  'npm ci': 'installs from the registry',
  'dist/ is a fresh build of the tagged sources': 'needs node_modules; CI rebuilds dist/ and diffs it on every change',
  'npm test': 'the suite this test is part of',
  'The pinned npm': 'installs npm globally; the test checks the version is exact',
};

export const stepName = (step: Step): string => step.name ?? step.run?.split('\n')[0] ?? step.uses ?? '?';

// ---- ${{ }} expressions: the few forms the workflow uses, anything else is an error ---------------------------------

type Value = string | number | boolean;

export function evaluate(expression: string, context: (path: string) => Value): Value {
  const tokens =
    expression.match(/\s*(!=|==|!|\(|\)|,|'(?:[^']|'')*'|[A-Za-z_][\w.-]*|\d+)\s*/gy)?.map((t) => t.trim()) ?? [];
  if (tokens.join('').replace(/\s/g, '') !== expression.replace(/\s/g, ''))
    throw new Error(`unsupported expression: ${expression}`);
  let at = 0;
  const next = () => tokens[at++];
  const operand = (): Value => {
    const token = next();
    if (token === undefined) throw new Error(`unexpected end of ${expression}`);
    if (token === '!') return !truthy(operand());
    if (token === '(') {
      const value = comparison();
      if (next() !== ')') throw new Error(`expected ) in ${expression}`);
      return value;
    }
    if (token.startsWith("'")) return token.slice(1, -1).replace(/''/g, "'");
    if (/^\d+$/.test(token)) return Number(token);
    if (token === 'true' || token === 'false') return token === 'true';
    if (token === 'contains') {
      if (next() !== '(') throw new Error(`expected ( in ${expression}`);
      const haystack = comparison();
      if (next() !== ',') throw new Error(`expected , in ${expression}`);
      const needle = comparison();
      if (next() !== ')') throw new Error(`expected ) in ${expression}`);
      return String(haystack).toLowerCase().includes(String(needle).toLowerCase());
    }
    return context(token);
  };
  const comparison = (): Value => {
    const left = operand();
    const op = tokens[at];
    if (op !== '==' && op !== '!=') return left;
    at++;
    const right = operand();
    const equal = typeof left === typeof right ? left === right : String(left) === String(right);
    return op === '==' ? equal : !equal;
  };
  const value = comparison();
  if (at !== tokens.length) throw new Error(`unsupported expression: ${expression}`);
  return value;
}

const truthy = (v: Value) => v !== '' && v !== 0 && v !== false;

function interpolate(text: string, context: (path: string) => Value): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, inner: string) => String(evaluate(inner.trim(), context)));
}

// ---- the fake npm registry ---------------------------------------------------------------------------------------

interface Published {
  manifest: Record<string, unknown>;
  tarball: Buffer;
}

export class FakeRegistry {
  readonly versions = new Map<string, Published>();
  readonly distTags: Record<string, string> = {};
  readonly requests: string[] = [];
  url = '';
  private server?: Server;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** What `npm publish` of this tarball would leave on the registry: the manifest, with `gitHead` when given. */
  publish(tarballPath: string, tag: string, gitHead?: string): void {
    const tarball = readFileSync(tarballPath);
    const manifest = JSON.parse(
      execFileSync('tar', ['-xzOf', tarballPath, 'package/package.json'], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    if (gitHead) manifest.gitHead = gitHead;
    this.versions.set(String(manifest.version), { manifest, tarball });
    this.distTags[tag] = String(manifest.version);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return json(405, { error: 'the dry run must not write to the registry' });
    const tarball = new RegExp(`^/${PACKAGE}/-/${PACKAGE}-(.+)\\.tgz$`).exec(path);
    if (tarball) {
      const found = this.versions.get(tarball[1]!);
      if (!found) return json(404, { error: 'Not found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(found.tarball);
    }
    if (path !== `/${PACKAGE}` || this.versions.size === 0) return json(404, { error: 'Not found' });
    const versions = Object.fromEntries(
      [...this.versions].map(([version, { manifest, tarball: bytes }]) => [
        version,
        {
          ...manifest,
          _id: `${PACKAGE}@${version}`,
          dist: {
            tarball: `${this.url}${PACKAGE}/-/${PACKAGE}-${version}.tgz`,
            integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
            shasum: createHash('sha1').update(bytes).digest('hex'),
          },
        },
      ]),
    );
    json(200, { name: PACKAGE, 'dist-tags': this.distTags, versions });
  }
}

// ---- the sandbox -------------------------------------------------------------------------------------------------

export interface JobResult {
  job: string;
  ok: boolean;
  /** Names of the steps run, skipped by their `if:`, or not run by the dry run. */
  ran: string[];
  skipped: string[];
  notRun: string[];
  /** Every step's output, in order, with a `## step` line before each. */
  output: string;
  failedStep?: string;
}

export interface RunOptions {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Only these jobs (their `needs` are taken as done). */
  jobs?: string[];
}

export const DEFAULT_VARS = { RELEASE_APP_CLIENT_ID: 'Iv1.release-app', GITLAB_CATALOG_PROJECT: CATALOG_PROJECT };
export const DEFAULT_SECRETS = {
  RELEASE_APP_PRIVATE_KEY: 'fake-private-key',
  GITLAB_CATALOG_TOKEN: 'glpat-fake-token',
};

export class ReleaseSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'scalingo-release-'));
  readonly source = join(this.dir, 'source');
  readonly origin = join(this.dir, 'origin.git');
  readonly catalog = join(this.dir, 'catalog.git');
  readonly home = join(this.dir, 'home');
  readonly ghState = join(this.dir, 'gh.json');
  readonly registry = new FakeRegistry();
  readonly workflow = loadWorkflow();
  private readonly bin = join(this.dir, 'bin');
  private runs = 0;

  async start(): Promise<void> {
    await this.registry.start();
    for (const dir of [this.home, this.bin]) mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(this.bin, 'gh'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'test/release/fake-gh.js')}" "$@"\n`,
      { mode: 0o755 },
    );
    // The GitLab project's URL leads to the local bare repository: the workflow builds the URL itself.
    writeFileSync(
      join(this.home, '.gitconfig'),
      [
        '[url "' + this.catalog + '"]',
        `\tinsteadOf = https://gitlab.com/${CATALOG_PROJECT}.git`,
        '[init]',
        '\tdefaultBranch = main',
        '[maintenance]',
        '\tauto = false',
        '',
      ].join('\n'),
    );
    this.git(this.dir, 'init', '-q', '--bare', this.origin);
    this.git(this.dir, 'init', '-q', '--bare', this.catalog);
    // This repository as it is now, tracked and new files alike (not what .gitignore leaves out).
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((f) => f && existsSync(join(ROOT, f)));
    for (const file of files) {
      mkdirSync(dirname(join(this.source, file)), { recursive: true });
      cpSync(join(ROOT, file), join(this.source, file));
    }
    this.git(this.dir, 'init', '-q', this.source);
    this.git(this.source, 'config', 'user.name', 'Maintainer');
    this.git(this.source, 'config', 'user.email', 'maintainer@example.com');
    this.commit('The release candidate');
    this.git(this.source, 'remote', 'add', 'origin', this.origin);
    this.git(this.source, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  }

  async stop(): Promise<void> {
    await this.registry.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: this.home, GIT_CONFIG_NOSYSTEM: '1' },
      encoding: 'utf8',
    }).trim();
  }

  commit(message: string): string {
    this.git(this.source, 'add', '-A');
    this.git(this.source, 'commit', '-q', '--allow-empty', '-m', message);
    return this.git(this.source, 'rev-parse', 'HEAD');
  }

  /**
   * What RELEASING.md asks before a tag, in the source: package.json's version; the Unreleased entries moved under
   * `## [version]` (a new section with `entries` when there is none and nothing is unreleased); the GitLab copy
   * for include: remote: regenerated; then `unreleased`, if given, left under Unreleased (a mistake); committed.
   */
  prepareRelease(version: string, options: { entries?: string; unreleased?: string } = {}): void {
    const packageJson = join(this.source, 'package.json');
    writeFileSync(
      packageJson,
      readFileSync(packageJson, 'utf8').replace(/"version": "[^"]+"/, `"version": "${version}"`),
    );
    const changelog = join(this.source, 'CHANGELOG.md');
    let text = readFileSync(changelog, 'utf8');
    const start = text.indexOf('## [Unreleased]\n') + '## [Unreleased]\n'.length;
    const end = text.indexOf('\n## [', start);
    const unreleased = text.slice(start, end).trim();
    const heading = `## [${version}] - 2027-01-04`;
    if (unreleased) text = `${text.slice(0, start)}\n${heading}\n\n${unreleased}\n${text.slice(end)}`;
    else if (!text.includes(`## [${version}]`))
      text = `${text.slice(0, start)}\n${heading}\n\n${options.entries ?? '- A change.'}\n${text.slice(end)}`;
    if (options.unreleased) text = text.replace('## [Unreleased]\n', `## [Unreleased]\n\n${options.unreleased}\n`);
    writeFileSync(changelog, text);
    execFileSync('sh', ['gitlab/publish.sh', 'remote', version], { cwd: this.source, stdio: 'ignore' });
    this.commit(`Release ${version}`);
  }

  /** Tags HEAD of the source and pushes the tag, as a maintainer starts a release. */
  tag(tag: string): string {
    this.git(this.source, 'tag', tag);
    this.git(this.source, 'push', '-q', 'origin', 'HEAD:refs/heads/main', `refs/tags/${tag}`);
    return this.git(this.source, 'rev-parse', 'HEAD');
  }

  gh(): {
    releases: Record<
      string,
      {
        draft: boolean;
        prerelease: boolean;
        latest?: string;
        title: string;
        notes: string;
        assets: Record<string, string>;
      }
    >;
    calls: string[][];
  } {
    return existsSync(this.ghState) ? JSON.parse(readFileSync(this.ghState, 'utf8')) : { releases: {}, calls: [] };
  }

  /** The jobs of the workflow for the push of `tag`, in `needs` order; a failed job stops those that need it. */
  async run(tag: string, options: RunOptions = {}): Promise<Record<string, JobResult[]>> {
    const sha = this.git(this.origin, 'rev-parse', `refs/tags/${tag}^{commit}`);
    const results: Record<string, JobResult[]> = {};
    const done = new Set<string>(
      Object.keys(this.workflow.jobs).filter((j) => options.jobs && !options.jobs.includes(j)),
    );
    const failed = new Set<string>();
    const pending = Object.keys(this.workflow.jobs).filter((j) => !done.has(j));
    while (pending.length) {
      const index = pending.findIndex((j) =>
        [this.workflow.jobs[j]!.needs ?? []].flat().every((n) => done.has(n) || failed.has(n)),
      );
      if (index < 0) throw new Error(`jobs that wait on each other: ${pending.join(', ')}`);
      const [name] = pending.splice(index, 1) as [string];
      const job = this.workflow.jobs[name]!;
      if ([job.needs ?? []].flat().some((n) => failed.has(n))) {
        failed.add(name);
        continue;
      }
      const matrix = job.strategy?.matrix ?? {};
      const combinations = Object.keys(matrix).length
        ? (matrix[Object.keys(matrix)[0]!] ?? []).map((v) => ({ [Object.keys(matrix)[0]!]: v }))
        : [{}];
      results[name] = [];
      for (const combination of combinations) {
        const result = await this.runJob(name, job, tag, sha, combination as Record<string, Value>, options);
        results[name]!.push(result);
        if (!result.ok) failed.add(name);
        else this.publishDryRun(result, sha);
      }
      if (!failed.has(name)) done.add(name);
    }
    return results;
  }

  private async runJob(
    name: string,
    job: Job,
    tag: string,
    sha: string,
    matrix: Record<string, Value>,
    options: RunOptions,
  ): Promise<JobResult> {
    const vars: Record<string, string> = options.vars ?? DEFAULT_VARS;
    const secrets: Record<string, string> = options.secrets ?? DEFAULT_SECRETS;
    const result: JobResult = { job: name, ok: true, ran: [], skipped: [], notRun: [], output: '' };
    const stepOutputs: Record<string, Record<string, string>> = {};
    const workflowEnv = this.workflow.env ?? {};
    const context = (path: string): Value => {
      const [scope, ...rest] = path.split('.');
      const key = rest.join('.');
      switch (scope) {
        case 'github':
          if (key === 'ref_name') return tag;
          if (key === 'sha') return sha;
          if (key === 'repository') return REPOSITORY;
          if (key === 'token') return 'ghs_fake_github_token';
          break;
        case 'vars':
          return vars[key] ?? '';
        case 'secrets':
          return secrets[key] ?? '';
        case 'matrix':
          if (key in matrix) return matrix[key]!;
          break;
        case 'env':
          if (key in workflowEnv) return workflowEnv[key]!;
          break;
        case 'steps': {
          const [id, what, output] = rest;
          if (what === 'outputs' && id && output) return stepOutputs[id]?.[output] ?? '';
          break;
        }
      }
      throw new Error(`unknown context ${path} in job ${name}`);
    };
    const condition = (expression: string | undefined) =>
      expression === undefined || truthy(evaluate(expression.replace(/^\$\{\{|\}\}$/g, '').trim(), context));
    if (!condition(job.if)) {
      result.skipped.push(`job ${name}`);
      return result;
    }

    const run = ++this.runs;
    const workspace = join(this.dir, `run-${run}-${name}`);
    const temp = join(this.dir, `run-${run}-${name}-temp`);
    mkdirSync(temp, { recursive: true });
    // actions/checkout of the tag's commit, with every tag only when fetch-depth is 0.
    const checkout = job.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    if (!checkout) throw new Error(`job ${name} does not check out the repository`);
    this.git(this.dir, 'clone', '-q', this.origin, workspace);
    this.git(workspace, 'checkout', '-q', '--detach', sha);
    if (String(checkout.with?.['fetch-depth'] ?? '1') !== '0') {
      for (const other of this.git(workspace, 'tag', '--list')
        .split('\n')
        .filter((t) => t && t !== tag))
        this.git(workspace, 'tag', '-d', other);
    }

    const baseEnv: Record<string, string> = {
      PATH: [this.bin, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
      HOME: this.home,
      GIT_CONFIG_NOSYSTEM: '1',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_REF: `refs/tags/${tag}`,
      GITHUB_REF_NAME: tag,
      GITHUB_REF_TYPE: 'tag',
      GITHUB_SHA: sha,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: temp,
      GITHUB_STEP_SUMMARY: join(temp, 'summary.md'),
      FAKE_GH_STATE: this.ghState,
      FAKE_GH_ORIGIN: this.origin,
      npm_config_registry: this.registry.url,
      npm_config_cache: join(this.dir, 'npm-cache'),
      npm_config_update_notifier: 'false',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      ...workflowEnv,
    };

    for (const [index, step] of job.steps.entries()) {
      const label = stepName(step);
      if (step.uses?.startsWith('actions/checkout@')) continue;
      if (!condition(step.if)) {
        result.skipped.push(label);
        continue;
      }
      if (step.uses?.startsWith('actions/setup-node@')) continue;
      if (step.uses?.startsWith('actions/create-github-app-token@')) {
        if (
          !step.with?.['client-id'] ||
          !interpolate(String(step.with['client-id']), context) ||
          !interpolate(String(step.with['private-key'] ?? ''), context)
        ) {
          result.ok = false;
          result.failedStep = label;
          result.output += `## ${label}\nthe app token needs a client id and a private key\n`;
          return result;
        }
        if (step.id) stepOutputs[step.id] = { token: 'ghs_fake_app_installation_token' };
        result.ran.push(label);
        continue;
      }
      if (step.uses) throw new Error(`the dry run does not know the action ${step.uses}`);
      if (label in NOT_RUN) {
        result.notRun.push(label);
        continue;
      }
      if (/\$\{\{/.test(step.run ?? ''))
        throw new Error(`step "${label}" puts an expression in its script: pass it through env`);
      const outputFile = join(temp, `output-${index}`);
      const env: Record<string, string> = { ...baseEnv, GITHUB_OUTPUT: outputFile };
      for (const [key, value] of Object.entries(step.env ?? {})) env[key] = interpolate(String(value), context);
      // `npm publish` runs for real, as a dry run: nothing is sent to the registry.
      if (/\bnpm publish\b/.test(step.run ?? '')) env.npm_config_dry_run = 'true';
      const script = join(temp, `step-${index}.sh`);
      writeFileSync(script, step.run ?? '');
      const { code, output } = await spawnBash(script, workspace, env);
      result.output += `## ${label}\n${output}`;
      result.ran.push(label);
      if (existsSync(outputFile) && step.id) {
        stepOutputs[step.id] = Object.fromEntries(
          readFileSync(outputFile, 'utf8')
            .split('\n')
            .filter((l) => l.includes('='))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
      }
      if (code !== 0) {
        result.ok = false;
        result.failedStep = label;
        return result;
      }
    }
    return result;
  }

  /**
   * After a job whose `npm publish` ran as a dry run, the fake registry gets what it would have published: the
   * package packed from that job's workspace, under the dist-tag npm named, with the commit as `gitHead` (as npm
   * records it when publishing from a git checkout).
   */
  private publishDryRun(result: JobResult, sha: string): void {
    const published = /Publishing to \S+ with tag (\S+) and .* \(dry-run\)/.exec(result.output);
    if (!published) return;
    const workspace = this.lastWorkspace(result.job);
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', workspace], {
      cwd: workspace,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [packed] = JSON.parse(out) as { filename: string }[];
    this.registry.publish(join(workspace, packed!.filename), published[1]!, sha);
  }

  /** The workspace of the last run of `job`. */
  lastWorkspace(job: string): string {
    for (let run = this.runs; run > 0; run--) {
      const dir = join(this.dir, `run-${run}-${job}`);
      if (existsSync(dir)) return dir;
    }
    throw new Error(`no run of ${job}`);
  }
}

function spawnBash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
