/**
 * The component and the README's pipelines against GitLab's own CI JSON schema. The raw template cannot be checked
 * (`$[[ inputs.x ]]` stands where the schema wants booleans, numbers and options), so it is checked interpolated, as
 * `gitlab-ci-local --preview` prints it; README snippets are checked as written, their inputs against `spec:inputs`,
 * and, including a copy of the component instead of the published one, interpolated as well.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  README,
  ROOT,
  Project,
  readTemplate,
  schemaErrors,
  yaml,
  type InputDefinition,
  type Json,
  type ProjectOptions,
} from './helpers.js';

const { inputs: SPEC } = readTemplate();
const SELF_COMPONENT = '$CI_SERVER_FQDN/$CI_PROJECT_PATH/scalingo@$CI_COMMIT_SHA';
const projects: Project[] = [];

afterAll(() => {
  for (const p of projects) p.remove();
});

/**
 * Previews are checked against GitLab's schema here, in the test (schemaErrors: the schema gitlab-ci-local embeds, with
 * formats): gitlab-ci-local need not check them again (`schema: false`), which halves the cost of a preview.
 */
function project(config: unknown, options: ProjectOptions = {}): Project {
  const p = new Project(config, options);
  projects.push(p);
  return p;
}

/** Readable schema errors, for failure messages. */
function errorsOf(config: unknown): string[] {
  return schemaErrors(config).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** What GitLab would say of these `include: inputs:` (unknown names, wrong types, options, patterns, required). */
function inputProblems(inputs: Json): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    const def: InputDefinition | undefined = SPEC[name];
    if (!def) {
      problems.push(`unknown input ${name}`);
      continue;
    }
    const type = (def.type as string | undefined) ?? 'string';
    if (typeof value !== type) problems.push(`${name}: ${JSON.stringify(value)} is not a ${type}`);
    if (Array.isArray(def.options) && !def.options.includes(value))
      problems.push(`${name}: ${JSON.stringify(value)} is not one of the options`);
    if (typeof def.regex === 'string' && !new RegExp(def.regex).test(String(value)))
      problems.push(`${name}: ${JSON.stringify(value)} does not match ${def.regex}`);
  }
  for (const [name, def] of Object.entries(SPEC))
    if (!('default' in def) && !(name in inputs)) problems.push(`required input ${name} missing`);
  return problems;
}

/** Whether an include entry is this component, whichever way it is included. */
function includesComponent(entry: Json): boolean {
  if (typeof entry.component === 'string') return /\/scalingo@[^/]+$/.test(entry.component);
  const file = typeof entry.file === 'string' ? entry.file : typeof entry.remote === 'string' ? entry.remote : '';
  return /(^|\/)(templates|remote)\/scalingo\.yml$/.test(file);
}

describe.concurrent('GitLab CI schema', () => {
  it('is the real schema: it catches a misspelled keyword and a wrong type', () => {
    expect(errorsOf({ job: { script: ['true'], enviroment: 'x' } })).not.toEqual([]);
    expect(errorsOf({ job: { script: ['true'], interruptible: 'yes' } })).not.toEqual([]);
    expect(errorsOf({ job: { script: ['true'], environment: { name: 'x', action: 'stop' } } })).toEqual([]);
    // Environment URLs must be URIs, unless a variable makes them at run time (dotenv reports).
    expect(errorsOf({ job: { script: ['true'], environment: { name: 'x', url: 'not a url' } } })).not.toEqual([]);
    expect(errorsOf({ job: { script: ['true'], environment: { name: 'x', url: '$SCALINGO_APP_URL' } } })).toEqual([]);
  });

  it('accepts the component interpolated with its defaults', async () => {
    const { config } = await project({
      include: [{ local: 'templates/scalingo.yml', inputs: { app: 'my-app' } }],
    }).preview({ schema: false });
    expect(Object.keys(config).filter((k) => k !== 'stages')).toEqual([
      'scalingo-deploy',
      'scalingo-review',
      'scalingo-stop-review',
    ]);
    expect(errorsOf(config)).toEqual([]);
  }, 60_000);

  it('accepts the component interpolated with every input set', async () => {
    const every: Json = {
      stage: 'release',
      'job-prefix': 'prod',
      image: 'node:22-alpine',
      package: 'scalingo-deploy@1.2.3',
      'deployment-tier': 'staging',
      'auto-stop-in': 'never',
      app: 'my-app',
      region: 'osc-secnum-fr1',
      'api-url': 'https://api.osc-secnum-fr1.scalingo.com',
      'auth-url': 'https://auth.scalingo.com',
      command: 'deploy',
      source: 'https://gitlab.com/group/project',
      'scm-integration': 'int-gitlab-1',
      branch: 'production',
      'deploy-branch': 'hotfix',
      'auto-deploy': 'false',
      'review-apps': 'false',
      'review-apps-from-forks': 'true',
      'delete-on-close': 'true',
      'hours-before-delete-on-close': '0',
      'delete-stale': 'true',
      'hours-before-delete-stale': '72',
      'pull-request': '7',
      'review-app-auto-deploy': true,
      'review-app-label': 'preview',
      'review-app-drafts': false,
      'fail-on-newer-commit': true,
      wait: false,
      'timeout-minutes': 2.5,
      'poll-interval-seconds': 10,
      logs: false,
      'request-timeout-seconds': 15,
      'dry-run': true,
      'fail-without-token': true,
    };
    expect(Object.keys(every).sort()).toEqual(Object.keys(SPEC).sort());
    expect(inputProblems(every)).toEqual([]);
    const { config } = await project({
      stages: ['build', 'release'],
      include: [{ local: 'templates/scalingo.yml', inputs: every }],
    }).preview({ schema: false });
    expect(errorsOf(config)).toEqual([]);
    const deploy = config['prod-deploy'] as Json;
    expect(deploy).toMatchObject({
      stage: 'release',
      image: { name: 'node:22-alpine' },
      resource_group: 'scalingo-my-app',
      environment: { deployment_tier: 'staging' },
    });
    expect((deploy.script as string[]).join('\n')).toContain('--wait=false --dry-run=true --fail-without-token=true');
    expect((deploy.script as string[]).join('\n')).toContain('--fail-on-newer-commit=true');
    expect((config['prod-review'] as Json).environment).toMatchObject({
      on_stop: 'prod-stop-review',
      auto_stop_in: 'never',
    });
  }, 60_000);
});

describe("The catalog project's CI configuration (gitlab/catalog-ci.yml)", () => {
  it('is valid, loads the component of its commit and runs none of its jobs', async () => {
    const config = yaml.load(readFileSync(join(ROOT, 'gitlab/catalog-ci.yml'), 'utf8')) as Json;
    expect(errorsOf(config)).toEqual([]);
    // One project for both runs: the job list expands the same configuration, already checked.
    const catalog = project(config, { template: 'component' });
    const tagged = (tag: string) =>
      catalog.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: tag }, schema: false });
    const [{ config: expanded }, jobs, preRelease, notAVersion] = await Promise.all([
      catalog.preview({ schema: false }),
      tagged('1.2.3'),
      tagged('1.3.0-rc.1'),
      tagged('v1.2.3'),
    ]);
    expect(errorsOf(expanded)).toEqual([]);
    expect(jobs).toEqual({
      'scalingo-deploy': 'never',
      'scalingo-review': 'never',
      'scalingo-stop-review': 'never',
      'create-release': 'on_success',
    });
    // A pre-release tag is released too (the Catalog keeps it out of ~latest); a tag that is no version is not.
    expect(preRelease['create-release']).toBe('on_success');
    expect(notAVersion['create-release']).toBe('never');
  }, 60_000);
});

describe('README pipelines', () => {
  const blocks = (path: string) =>
    [...readFileSync(path, 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  // Every block of gitlab/README.md, and the GitLab blocks of the project's README (the others are GitHub workflows).
  const snippets = [...blocks(README), ...blocks(join(ROOT, 'README.md')).filter((b) => /^include:/m.test(b))];

  it('are there', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(6);
  });

  // Each snippet has its own project: they run at once (gitlab-ci-local runs a few at a time, see helpers.ts).
  it.concurrent.each(snippets.map((text, i) => [i + 1, text] as const))(
    'snippet %i is a valid .gitlab-ci.yml, with valid inputs, also once included',
    async (_, text) => {
      const config = yaml.load(text) as Json;
      expect(errorsOf(config)).toEqual([]);

      // Include a copy of the component (as gitlab-ci-local can) wherever the snippet includes the published one.
      const include = (config.include ?? []) as Json[];
      expect(Array.isArray(include)).toBe(true);
      const ours = include.filter(includesComponent);
      for (const entry of ours) expect(inputProblems((entry.inputs ?? {}) as Json), JSON.stringify(entry)).toEqual([]);
      // A component include gets the component itself, included at the project's commit; a remote one the copy made
      // for remote includes (component context exists for components only), included as a local file.
      const asComponent = ours.some((e) => typeof e.component === 'string');
      const self = asComponent ? { component: SELF_COMPONENT } : { local: 'templates/scalingo.yml' };
      const local = {
        ...config,
        include: include.map((e) => (includesComponent(e) ? { ...self, inputs: e.inputs } : e)),
      };

      const { config: expanded } = await project(local, { template: asComponent ? 'component' : 'standalone' }).preview(
        { schema: false },
      );
      expect(errorsOf(expanded)).toEqual([]);
      for (const entry of ours) {
        const prefix = ((entry.inputs as Json | undefined)?.['job-prefix'] as string | undefined) ?? 'scalingo';
        expect(Object.keys(expanded), `jobs of ${prefix}`).toEqual(
          expect.arrayContaining([`${prefix}-deploy`, `${prefix}-review`, `${prefix}-stop-review`]),
        );
      }
    },
    120_000,
  );
});
