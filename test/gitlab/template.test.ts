import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/core/inputs.js';
import {
  Project,
  README,
  REMOTE_TEMPLATE,
  ROOT,
  SETTING_INPUTS,
  TEMPLATE_ONLY_INPUTS,
  hasCommand,
  readTemplate,
  schemaErrors,
  standaloneTemplate,
  yaml,
  type Json,
} from './helpers.js';

const { text, header, inputs, jobs } = readTemplate();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TRI_STATE = ['', 'true', 'false'];

describe('GitLab component: spec:inputs', () => {
  it('has exactly the GitLab settings (no secret) plus the job inputs', () => {
    expect(Object.keys(inputs).sort()).toEqual([...SETTING_INPUTS.map((i) => i.name), ...TEMPLATE_ONLY_INPUTS].sort());
  });

  it('takes no token: it comes from the SCALINGO_API_TOKEN variable', () => {
    expect(Object.keys(inputs).filter((name) => /token/.test(name))).toEqual(['fail-without-token']);
    expect(text).not.toMatch(/inputs\.(api-token|github-token)/);
  });

  it('describes every input and declares its type (options are strings), and a default (an empty app finds the apps)', () => {
    for (const [name, def] of Object.entries(inputs)) {
      expect(typeof def.description, name).toBe('string');
      expect(String(def.description).length, name).toBeGreaterThan(10);
      expect(['string', 'boolean', 'number', 'array'], name).toContain(def.type);
      if (def.options !== undefined) expect(def.type, name).toBe('string');
      expect(def, name).toHaveProperty('default');
    }
    expect(inputs.app).toMatchObject({ type: 'string', default: '' });
  });

  it('types each setting after the input table, with consistent defaults and options', () => {
    for (const spec of SETTING_INPUTS) {
      const def = inputs[spec.name]!;
      const where = `input ${spec.name}`;
      switch (spec.type) {
        case 'boolean':
          if (spec.default === undefined) {
            // Not given means "leave it as it is": a boolean input could not say that.
            expect(def.options, where).toEqual(TRI_STATE);
            expect(def.default, where).toBe('');
          } else {
            expect(def.type, where).toBe('boolean');
            expect(def.default, where).toBe(spec.default === 'true');
          }
          break;
        case 'number':
          expect(def.type, where).toBe('number');
          expect(def.default, where).toBe(Number(spec.default));
          break;
        case 'integer': {
          expect(def.type, where).toBe('string');
          expect(def.default, where).toBe(spec.default ?? '');
          const regex = new RegExp(String(def.regex));
          expect(
            ['', '1', '24', '240'].every((v) => regex.test(v)),
            where,
          ).toBe(true);
          expect(
            ['-1', '1.5', 'x', ' 2'].some((v) => regex.test(v)),
            where,
          ).toBe(false);
          break;
        }
        case 'enum':
          expect(def.options, where).toEqual(spec.options);
          expect(def.default, where).toBe(spec.default);
          break;
        case 'string':
          expect(def.type, where).toBe('string');
          if (spec.name === 'app') break;
          if (def.default === '' && spec.default !== undefined) {
            // Empty lets scalingo-deploy apply its own default: the environment variable, then the documented value.
            expect(spec.description, where).toContain(`Default: \`${spec.env}\``);
          } else {
            expect(def.default, where).toBe(spec.default ?? '');
          }
          break;
        default:
          throw new Error(`${where}: unexpected type ${spec.type}`);
      }
    }
    expect(inputs.command?.options).toEqual([...COMMANDS]);
    expect(new RegExp(String(inputs['pull-request']?.regex)).test('0')).toBe(false);
  });

  it('defaults the job inputs sensibly, the package to the version the component was included at', () => {
    expect(inputs.stage).toMatchObject({ type: 'string', default: 'deploy' });
    expect(inputs['job-prefix']).toMatchObject({ type: 'string', default: 'scalingo' });
    expect(inputs.image).toMatchObject({ type: 'string', default: 'node:24-alpine' });
    expect(inputs.package).toMatchObject({ type: 'string', default: '' });
    expect(inputs['deployment-tier']).toMatchObject({
      type: 'string',
      options: ['production', 'staging', 'testing', 'development', 'other'],
      default: 'production',
    });
    expect(inputs['auto-stop-in']).toMatchObject({ type: 'string', default: '1 week' });
    // An empty package input runs the npm package of the component's own version (GitLab's component context).
    expect(header.spec.component).toEqual(['version']);
    expect([...text.matchAll(/\$\[\[\s*component\.([\w-]+)\s*\]\]/g)].map((m) => m[1])).toEqual(['version']);
    expect((jobs['$[[ inputs.job-prefix ]]-deploy'] as Json).variables).toMatchObject({
      SCALINGO_INPUT_PACKAGE: '$[[ inputs.package ]]',
      SCALINGO_COMPONENT_PACKAGE: `${pkg.name}@$[[ component.version ]]`,
    });
  });

  it('has a copy for include: remote: that differs only by the version written in place of the component context', () => {
    const standalone = standaloneTemplate('9.8.7');
    const [standaloneHeader, standaloneJobs] = yaml.loadAll(standalone) as [{ spec: Json }, Json];
    // GitLab refuses `$[[ component.* ]]` outside `include: component:`, and a `spec:component` it cannot fill.
    expect(standalone).not.toMatch(/component\./);
    expect(standaloneHeader.spec).toEqual({ inputs });
    expect(standaloneJobs).toEqual(JSON.parse(JSON.stringify(jobs).replaceAll('$[[ component.version ]]', '9.8.7')));
    // The committed copy is the one of this version: regenerate it with `sh gitlab/publish.sh remote`.
    expect(
      readFileSync(REMOTE_TEMPLATE, 'utf8'),
      'gitlab/remote/scalingo.yml is stale: run sh gitlab/publish.sh remote',
    ).toBe(standaloneTemplate());
  });

  it("is included in the READMEs from this release's tag, with the integrity of the committed copy", () => {
    const integrity = `sha256-${createHash('sha256').update(readFileSync(REMOTE_TEMPLATE)).digest('base64')}`;
    const url = `https://raw.githubusercontent.com/scalingo-deploy/scalingo-deploy/v${pkg.version}/gitlab/remote/scalingo.yml`;
    for (const file of [README, join(ROOT, 'README.md')]) {
      const includes = [...readFileSync(file, 'utf8').matchAll(/^ {2}- remote: (\S+)\n {4}integrity: (\S+)$/gm)];
      expect(includes.length, `remote includes in ${file}`).toBeGreaterThan(0);
      for (const [, remote, hash] of includes) {
        expect(remote, `${file} (sh gitlab/publish.sh remote sets it)`).toBe(url);
        expect(hash, `${file}: integrity of gitlab/remote/scalingo.yml (sh gitlab/publish.sh remote sets it)`).toBe(
          integrity,
        );
      }
      // Every remote include of the component carries its integrity.
      expect(readFileSync(file, 'utf8').match(/- remote: \S*scalingo\.yml/g)?.length, file).toBe(includes.length);
    }
  });

  it('uses every input it declares, and only those', () => {
    const used = new Set([...text.matchAll(/\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(inputs).sort());
  });
});

describe('GitLab component: jobs', () => {
  const deploy = jobs['$[[ inputs.job-prefix ]]-deploy'] as Json;
  const review = jobs['$[[ inputs.job-prefix ]]-review'] as Json;
  const stop = jobs['$[[ inputs.job-prefix ]]-stop-review'] as Json;

  it('defines three jobs named after job-prefix, in the stage and image of the inputs, and no global keyword', () => {
    expect(Object.keys(jobs)).toEqual([
      '$[[ inputs.job-prefix ]]-deploy',
      '$[[ inputs.job-prefix ]]-review',
      '$[[ inputs.job-prefix ]]-stop-review',
    ]);
    for (const job of [deploy, review, stop]) {
      expect(job.stage).toBe('$[[ inputs.stage ]]');
      expect(job.image).toBe('$[[ inputs.image ]]');
    }
  });

  it('passes every setting as a flag, each once, and runs the package with npx', () => {
    const script = (deploy.script as string[]).join('\n');
    for (const spec of SETTING_INPUTS) {
      expect(script.split(`--${spec.name}=`).length - 1, spec.name).toBe(1);
    }
    expect(script).toContain('npx --yes --package="$package" -- scalingo-deploy');
    expect(review.script).toEqual(deploy.script);
    expect(stop.script).toEqual(deploy.script);
  });

  it('records environments, with the review app URL from the dotenv report and a stop job', () => {
    expect(deploy.environment).toEqual({
      name: '$SCALINGO_ENVIRONMENT_NAME',
      url: '$SCALINGO_APP_URL',
      deployment_tier: '$[[ inputs.deployment-tier ]]',
    });
    // Named after the app by the job's variables; after the job prefix by the rules when the app is empty.
    expect(deploy.variables).toMatchObject({ SCALINGO_ENVIRONMENT_NAME: '$[[ inputs.app ]]' });
    for (const job of [review, stop])
      expect(job.variables).toMatchObject({
        SCALINGO_ENVIRONMENT_NAME: 'review/$[[ inputs.app ]]-pr$CI_MERGE_REQUEST_IID',
      });
    expect(review.environment).toEqual({
      name: '$SCALINGO_ENVIRONMENT_NAME',
      url: '$SCALINGO_APP_URL',
      on_stop: '$[[ inputs.job-prefix ]]-stop-review',
      auto_stop_in: '$[[ inputs.auto-stop-in ]]',
      deployment_tier: 'development',
    });
    expect(stop.environment).toEqual({ name: '$SCALINGO_ENVIRONMENT_NAME', action: 'stop' });
    for (const job of [deploy, review])
      expect(job.artifacts).toEqual({ when: 'always', reports: { dotenv: 'scalingo.env' } });
    expect(stop.allow_failure).toBe(true);
    expect(stop.variables).toMatchObject({
      SCALINGO_MERGE_REQUEST_STATE: 'closed',
      SCALINGO_INPUT_COMMAND: 'auto',
      GIT_STRATEGY: 'none',
    });
  });

  it('never runs two deployments of one app, or of one review app, at once', () => {
    expect(deploy.resource_group).toBe('scalingo-$[[ inputs.app ]]');
    expect(review.resource_group).toBe('scalingo-$[[ inputs.app ]]-pr$CI_MERGE_REQUEST_IID');
    expect(stop.resource_group).toBe(review.resource_group);
    expect(review.interruptible).toBe(true);
    expect(deploy.interruptible).toBeUndefined();
  });
});

describe('GitLab component: the script, interpolated', () => {
  let project: Project;
  let job: Json;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'scalingo-script-'));
    project = Project.including({
      app: 'my-app',
      package: 'scalingo-deploy@9.9.9',
      branch: 'release/2.x',
      source: 'https://gitlab.example.com/group/sub group/project',
      'auto-deploy': 'false',
      'delete-on-close': 'true',
      'hours-before-delete-on-close': '0',
      wait: false,
      'poll-interval-seconds': 0.5,
    });
    job = (await project.preview()).config['scalingo-deploy'] as Json;
  }, 60_000);

  afterAll(() => {
    project?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const script = (): string => (job.script as string[]).join('\n');

  /** Runs the job's script with its own variables and an npx that prints the arguments it gets, one a line. */
  function runScript(variables: Record<string, string>) {
    writeFileSync(join(work, 'npx'), '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done\n', { mode: 0o755 });
    const result = spawnSync('sh', ['-c', script()], {
      env: { PATH: `${work}:/usr/bin:/bin`, ...variables },
      encoding: 'utf8',
    });
    return { ...result, args: result.stdout.split('\n').slice(0, -1) };
  }

  const jobVariables = (): Record<string, string> =>
    Object.fromEntries(Object.entries(job.variables as Json).map(([k, v]) => [k, String(v)]));

  it('turns every input into one flag, values intact, the empty ones too (POSIX sh)', () => {
    const result = runScript(jobVariables());
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.args.slice(0, 4)).toEqual(['--yes', '--package=scalingo-deploy@9.9.9', '--', 'scalingo-deploy']);
    const flags = result.args
      .slice(4)
      .map((arg) => /^--([a-z-]+)=(.*)$/s.exec(arg)?.slice(1) ?? [arg, '(not --name=value)']);
    // One flag per setting, with the include's value, else the input's default: an empty flag is "not given" for
    // scalingo-deploy, as an empty input is, and its SCALINGO_* variable still applies.
    const given: Record<string, string> = {
      app: 'my-app',
      branch: 'release/2.x',
      source: 'https://gitlab.example.com/group/sub group/project',
      'auto-deploy': 'false',
      'delete-on-close': 'true',
      'hours-before-delete-on-close': '0',
      wait: 'false',
      'poll-interval-seconds': '0.5',
    };
    const expected = SETTING_INPUTS.map((spec) => [
      spec.name,
      given[spec.name] ?? (inputs[spec.name]?.default === undefined ? '' : String(inputs[spec.name]?.default)),
    ]);
    expect(flags.filter(([name]) => name !== 'dotenv').sort()).toEqual(expected.sort());
    expect(flags.filter(([name]) => name === 'dotenv')).toEqual([['dotenv', 'scalingo.env']]);
  });

  it("runs the package of the component's version when the package input is empty, and stops when there is none", () => {
    const variables: Record<string, string> = { ...jobVariables(), SCALINGO_INPUT_PACKAGE: '' };
    // Included by remote or local (this project): the version written in the copy, package.json's.
    expect(variables.SCALINGO_COMPONENT_PACKAGE).toBe(`${pkg.name}@${pkg.version}`);
    expect(runScript(variables).args.slice(0, 2)).toEqual(['--yes', `--package=${pkg.name}@${pkg.version}`]);
    // Included as a component at a commit or a branch, GitLab gives no version: the job says what to do.
    const unversioned = runScript({ ...variables, SCALINGO_COMPONENT_PACKAGE: `${pkg.name}@` });
    expect(unversioned.status).toBe(1);
    expect(unversioned.args).toEqual([]);
    expect(unversioned.stderr).toContain('set its package input');
  });

  it("leaves out a SCALINGO_APP of an earlier job's dotenv report when the app is empty (the apps are found), not otherwise", () => {
    // An npx that says which SCALINGO_APP the command would see, and its --app flag.
    writeFileSync(
      join(work, 'npx'),
      '#!/bin/sh\nprintf \'SCALINGO_APP=%s\\n\' "${SCALINGO_APP-(unset)}"\nfor a in "$@"; do case "$a" in --app=*) printf \'%s\\n\' "$a" ;; esac; done\n',
      { mode: 0o755 },
    );
    const run = (variables: Record<string, string>) => {
      const result = spawnSync('sh', ['-c', script()], {
        env: { PATH: `${work}:/usr/bin:/bin`, ...jobVariables(), ...variables },
        encoding: 'utf8',
      });
      expect(result.stderr).toBe('');
      return result.stdout.split('\n').slice(0, -1);
    };
    expect(run({ SCALINGO_INPUT_APP: '', SCALINGO_APP: 'other-app' })).toEqual(['SCALINGO_APP=(unset)', '--app=']);
    expect(run({ SCALINGO_INPUT_APP: 'my-app', SCALINGO_APP: 'other-app' })).toEqual([
      'SCALINGO_APP=other-app',
      '--app=my-app',
    ]);
  });

  it.runIf(hasCommand('shellcheck'))('is clean for shellcheck as POSIX sh', () => {
    const file = join(work, 'script.sh');
    writeFileSync(file, `#!/bin/sh\n${script()}\n`);
    const result = spawnSync('shellcheck', ['--shell=sh', file], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

// The previews and job lists below are independent gitlab-ci-local runs: each describe runs its tests at once.
describe.concurrent('GitLab component: component context', () => {
  const projects: Project[] = [];
  afterAll(() => {
    for (const p of projects) p.remove();
  });

  it('gets the package of its own version when included as a component', async () => {
    const project = new Project(
      {
        include: [{ component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/scalingo@$CI_COMMIT_SHA', inputs: { app: 'my-app' } }],
      },
      { template: 'component' },
    );
    projects.push(project);
    const { config } = await project.preview();
    // gitlab-ci-local gives a component included at the project's own commit that commit as its version; GitLab gives
    // the release's version to `@1.2.3`, `@1.2`, `@1` and `@~latest`, and nothing to a commit or a branch (the job
    // then asks for the package input, as tested above).
    for (const job of ['scalingo-deploy', 'scalingo-review', 'scalingo-stop-review']) {
      expect((config[job] as Json).variables, job).toMatchObject({
        SCALINGO_INPUT_PACKAGE: '',
        SCALINGO_COMPONENT_PACKAGE: `scalingo-deploy@${project.sha}`,
      });
    }
    expect((config['scalingo-deploy'] as Json).environment).toMatchObject({ deployment_tier: 'production' });
    expect((config['scalingo-review'] as Json).environment).toMatchObject({ deployment_tier: 'development' });
  }, 120_000);

  it('cannot be included other than as a component, hence the copy for include: remote:', async () => {
    const project = new Project(
      { include: [{ local: 'templates/scalingo.yml', inputs: { app: 'my-app' } }] },
      { template: 'component' },
    );
    projects.push(project);
    await expect(project.preview()).rejects.toThrow(/component\.version/);
  }, 120_000);
});

describe.concurrent('GitLab component: which pipelines run which job', () => {
  let project: Project;
  let onBranch: Project;

  beforeAll(() => {
    project = Project.including({ app: 'my-app' });
    onBranch = Project.including({ app: 'my-app', branch: 'production', 'job-prefix': 'prod' });
  });

  afterAll(() => {
    project?.remove();
    onBranch?.remove();
  });

  const MR = {
    variables: { CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '42' },
    unset: ['CI_COMMIT_BRANCH'],
  };

  it('deploys branch pipelines (push, web, schedule, API, trigger) of the default branch only', async () => {
    const sources = ['web', 'schedule', 'api', 'trigger'];
    const [push, feature, tag, ...others] = await Promise.all([
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push' } }),
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'feature' } }),
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: 'v1.0.0' }, unset: ['CI_COMMIT_BRANCH'] }),
      ...sources.map((source) => project.jobs({ variables: { CI_PIPELINE_SOURCE: source } })),
    ]);
    expect(push).toEqual({
      'scalingo-deploy': 'on_success',
      'scalingo-review': 'never',
      'scalingo-stop-review': 'never',
    });
    sources.forEach((source, i) => {
      expect(others[i]?.['scalingo-deploy'], source).toBe('on_success');
    });
    expect(feature?.['scalingo-deploy']).toBe('never');
    expect(tag?.['scalingo-deploy']).toBe('never');
  }, 120_000);

  it('makes review apps in merge request pipelines, with a manual stop job', async () => {
    expect(await project.jobs(MR)).toEqual({
      'scalingo-deploy': 'never',
      'scalingo-review': 'on_success',
      'scalingo-stop-review': 'manual',
    });
  }, 120_000);

  it('deploys the branch given as input instead of the default branch', async () => {
    const [push, production, mr] = await Promise.all([
      onBranch.jobs({ variables: { CI_PIPELINE_SOURCE: 'push' } }),
      onBranch.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'production' } }),
      onBranch.jobs(MR),
    ]);
    expect(push['prod-deploy']).toBe('never');
    expect(production['prod-deploy']).toBe('on_success');
    expect(Object.keys(mr)).toEqual(['prod-deploy', 'prod-review', 'prod-stop-review']);
  }, 120_000);
});

describe.concurrent('GitLab component: no app, the apps linked to the project (discovery)', () => {
  let project: Project;
  let noInputs: Project;
  let perApp: Project;

  beforeAll(() => {
    project = Project.including({ app: '' });
    // Every input has a default: the component can be included without any.
    noInputs = new Project({ include: [{ local: 'templates/scalingo.yml' }] });
    perApp = Project.including({ app: 'my-app' });
  });

  afterAll(() => {
    for (const p of [project, noInputs, perApp]) p?.remove();
  });

  const MR = {
    variables: { CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '42' },
    unset: ['CI_COMMIT_BRANCH'],
  };

  it('is valid for GitLab, with environments named after the job prefix by the rules that match an empty app', async () => {
    const [{ config }, { config: bare }] = await Promise.all([
      project.preview({ schema: false }),
      noInputs.preview({ schema: false }),
    ]);
    expect(schemaErrors(config)).toEqual([]);
    expect(bare).toEqual(config);
    const deploy = config['scalingo-deploy'] as Json;
    const review = config['scalingo-review'] as Json;
    const stop = config['scalingo-stop-review'] as Json;
    // GitLab refuses an empty environment name: the name is a variable, never empty.
    for (const job of [deploy, review, stop]) expect((job.environment as Json).name).toBe('$SCALINGO_ENVIRONMENT_NAME');
    expect(deploy.rules).toContainEqual({
      if: '$CI_COMMIT_BRANCH && "" == "" && ("" == "" || $CI_COMMIT_BRANCH == "")',
      variables: { SCALINGO_ENVIRONMENT_NAME: 'scalingo/$CI_COMMIT_REF_SLUG' },
    });
    for (const job of [review, stop]) {
      expect((job.rules as Json[])[0]).toMatchObject({
        if: '$CI_PIPELINE_SOURCE == "merge_request_event" && "" == ""',
        variables: { SCALINGO_ENVIRONMENT_NAME: 'review/scalingo-pr$CI_MERGE_REQUEST_IID' },
      });
    }
    expect((stop.rules as Json[])[0]).toMatchObject({ when: 'manual' });
    // The resource groups keep their names: one for the deploy jobs of every branch, one per merge request.
    expect(deploy.resource_group).toBe('scalingo-');
    expect(review.resource_group).toBe('scalingo--pr$CI_MERGE_REQUEST_IID');
    expect(stop.resource_group).toBe(review.resource_group);
    expect((deploy.variables as Json).SCALINGO_INPUT_APP).toBe('');
  }, 120_000);

  it('deploys every branch pipeline (the apps that follow the branch), never tags; makes review apps in merge requests', async () => {
    const [main, feature, tag, mr] = await Promise.all([
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push' } }),
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'develop' } }),
      project.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: 'v1.0.0' }, unset: ['CI_COMMIT_BRANCH'] }),
      project.jobs(MR),
    ]);
    expect(main).toEqual({
      'scalingo-deploy': 'on_success',
      'scalingo-review': 'never',
      'scalingo-stop-review': 'never',
    });
    expect(feature['scalingo-deploy']).toBe('on_success');
    expect(tag['scalingo-deploy']).toBe('never');
    expect(mr).toEqual({
      'scalingo-deploy': 'never',
      'scalingo-review': 'on_success',
      'scalingo-stop-review': 'manual',
    });
  }, 120_000);

  it('only deploys the branch given as input, when one is', async () => {
    const onBranch = Project.including({ app: '', branch: 'develop' });
    try {
      const [main, develop] = await Promise.all([
        onBranch.jobs({ variables: { CI_PIPELINE_SOURCE: 'push' } }),
        onBranch.jobs({ variables: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'develop' } }),
      ]);
      expect(main['scalingo-deploy']).toBe('never');
      expect(develop['scalingo-deploy']).toBe('on_success');
    } finally {
      onBranch.remove();
    }
  }, 120_000);

  // The names GitLab gives the environments once the variables are expanded: the jobs' scripts replaced by one that
  // prints it (a job of .gitlab-ci.yml is merged into the included one of the same name).
  it.runIf(hasCommand('rsync'))(
    'names the environments after the branch or the merge request, and after the app when there is one',
    async () => {
      const print = { script: ['echo "environment=$CI_ENVIRONMENT_NAME"'] };
      const jobs = { 'scalingo-deploy': print, 'scalingo-review': print, 'scalingo-stop-review': print };
      const discovery = new Project({
        include: [{ local: 'templates/scalingo.yml', inputs: { app: '', 'job-prefix': 'scalingo' } }],
        ...jobs,
      });
      const named = new Project({ include: [{ local: 'templates/scalingo.yml', inputs: { app: 'my-app' } }], ...jobs });
      try {
        // The two projects run side by side; the two pipelines of one project one after the other, since they share
        // its build folder.
        const runs = (
          await Promise.all(
            [discovery, named].map(async (p) => [
              await p.pipeline({ variables: { CI_PIPELINE_SOURCE: 'push' } }),
              await p.pipeline({ ...MR, jobs: ['scalingo-review', 'scalingo-stop-review'] }),
            ]),
          )
        ).flat();
        for (const run of runs) expect(run.code, run.output).toBe(0);
        const printed = runs.map((run) =>
          [...run.output.matchAll(/^(\S+) +> environment=(.*)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort(),
        );
        expect(printed).toEqual([
          ['scalingo-deploy scalingo/main'],
          ['scalingo-review review/scalingo-pr42', 'scalingo-stop-review review/scalingo-pr42'],
          ['scalingo-deploy my-app'],
          ['scalingo-review review/my-app-pr42', 'scalingo-stop-review review/my-app-pr42'],
        ]);
      } finally {
        discovery.remove();
        named.remove();
      }
    },
    240_000,
  );
});

describe('GitLab component: README', () => {
  it('documents every input with its type and default, and every dotenv variable', () => {
    const readme = readFileSync(README, 'utf8');
    const rows = new Map<string, string[]>();
    for (const line of readme.split('\n')) {
      const m = /^\| `([a-z-]+)` \|(.*)\|\s*$/.exec(line);
      if (m)
        rows.set(
          m[1]!,
          m[2]!.split('|').map((c) => c.trim()),
        );
    }
    for (const [name, def] of Object.entries(inputs)) {
      const row = rows.get(name);
      expect(row, `README row of input ${name}`).toBeDefined();
      const [type, dflt] = row!;
      const expectedType = def.options
        ? (def.options as string[]).map((o) => `\`${JSON.stringify(o).slice(1, -1) || "''"}\``).join(', ')
        : `${String(def.type)}`;
      expect(type, `type of ${name}`).toBe(expectedType);
      const expectedDefault = !('default' in def)
        ? 'required'
        : def.default === ''
          ? "`''`"
          : `\`${String(def.default)}\``;
      expect(dflt, `default of ${name}`).toBe(expectedDefault);
    }
    for (const key of [
      'SCALINGO_APP',
      'SCALINGO_APP_URL',
      'SCALINGO_DEPLOYMENT_ID',
      'SCALINGO_DEPLOYMENT_STATUS',
      'SCALINGO_REVIEW_APP',
      'SCALINGO_LINK',
      'SCALINGO_TIMED_OUT',
      'SCALINGO_DASHBOARD_URL',
    ]) {
      expect(readme, key).toContain(`| \`${key}\` |`);
    }
  });
});
