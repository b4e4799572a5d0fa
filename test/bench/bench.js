// @ts-check
/**
 * @file Performance figures of the built action, measured in one run against the fake Scalingo API on
 * 127.0.0.1, printed as one table (figure | measured | target | ok?) followed by the machine.
 *
 *   npm run bench [-- --json FILE] [-- --dist DIR]
 *   npm run bench:node24 [-- ...]          the same with Node 24, the action's runtime (downloaded on first use)
 *
 * Every process it starts runs on the node that runs the bench, whose version the report names. It measures dist/
 * as it is (or the build in DIR, to compare a candidate without replacing dist/): run `npm run build` first after a
 * change to src/. Every run of the action is
 * started as GitHub's runner starts it (INPUT_* variables with action.yml's defaults, GITHUB_* context, event
 * payload and output files), on a push of main to the repository every fake app is linked to; but the time-scaled
 * figures run the core in-process (the unbundled compilation), its timings and request budget scaled with the time
 * (see inProcessRunner). A run that fails,
 * or does not deploy what it should, aborts the bench: the figures of a failing run mean nothing. The exit code
 * is 1 when a target is missed.
 *
 * Scratch files (the @actions/core floor bundle, the unbundled compilation, the run directories) live in
 * node_modules/.cache/bench/<pid>/, inside the repository so that node_modules resolve, and are removed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakeScalingo } from '../support/fake-scalingo.js';

/** @typedef {import('../support/fake-scalingo.js').DeployScript} DeployScript */
/** @typedef {import('../support/fake-scalingo.js').DeploymentTimeline} DeploymentTimeline */
/** @typedef {import('../support/fake-scalingo.js').FakeScalingo} FakeScalingo */
/** @typedef {import('../support/fake-scalingo.js').RecordedRequest} RecordedRequest */

const ROOT = resolve(import.meta.dirname, '../..');
const { values: OPTIONS } = parseArgs({ options: { json: { type: 'string' }, dist: { type: 'string' } } });
const DIST = OPTIONS.dist ? resolve(OPTIONS.dist) : join(ROOT, 'dist');
const ACTION = join(DIST, 'index.js');
/** One scratch directory per bench run, so that two runs at once (Node 20 and Node 24, say) keep their own files. */
const WORK = join(ROOT, 'node_modules/.cache/bench', `${process.pid}`);
const NCC = join(ROOT, 'node_modules/@vercel/ncc/dist/ncc/cli.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The fake's default token, and the repository and branch it links every app to. */
const TOKEN = 'tk-us-test-0123456789abcdef';
const REPOSITORY = 'octo-org/octo-repo';
const BRANCH = 'main';
const APP = 'my-app';

const STARTUP_RUNS = 15;
const MEMORY_RUNS = 3;
/** A 5-minute deployment followed with the default settings is run this many times faster. */
const TIME_SCALE = 100;
const FIVE_MINUTES_MS = 5 * 60_000;
/** How far after a poll the worst case puts the deployment's end, beyond the lag measured beforehand. */
const PLACEMENT_MARGIN_MS = 25;
/** Decimal megabytes, as the targets are written. */
const MB = 1_000_000;

/** A push whose deployment ends at once (final on the first status read), polled fast: the runs that measure a start. */
const QUICK_PUSH = { script: ['queued', 'success'], inputs: { 'poll-interval-seconds': '0.05' } };

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  /** @param {number} i */
  const at = (i) => sorted[i] ?? Number.NaN;
  return sorted.length % 2 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
}

/** @param {number} bytes */
const megabytes = (bytes) => `${(bytes / MB).toFixed(2)} MB`;
/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** @param {string} text */
function tail(text, lines = 30) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

let runCounter = 0;

/** A fresh directory for one run's files. */
function runDir() {
  const dir = join(WORK, 'runs', String(++runCounter));
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/**
 * @typedef {object} Exit
 * @property {number} spawnedAt Epoch ms, just before the spawn.
 * @property {number} exitedAt Epoch ms at which the parent saw the process exit.
 */

/**
 * Runs `node ...args` to its end. A failure or a timeout aborts the bench with the end of the run's output.
 * @param {string} label What the error message calls the run.
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {number} [timeoutMs]
 * @returns {Promise<Exit>}
 */
function runNode(label, args, env, timeoutMs = 60_000) {
  return new Promise((resolvePromise, reject) => {
    let output = '';
    let exitedAt = 0;
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', () => (exitedAt = Date.now()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise({ spawnedAt, exitedAt });
      else
        reject(
          new Error(
            `${label} failed (${signal ? `killed by ${signal}` : `exit code ${code}`}); its output ends with:\n${tail(output)}`,
          ),
        );
    });
  });
}

// ---------------------------------------------------------------------------
// The step, as GitHub's runner starts it
// ---------------------------------------------------------------------------

/**
 * Every input action.yml declares with a default, as the runner passes them when the workflow does not set them.
 * @returns {Record<string, string>}
 */
function actionDefaults() {
  /** @type {Record<string, string>} */
  const defaults = {};
  let name = '';
  for (const line of readFileSync(join(ROOT, 'action.yml'), 'utf8').split('\n')) {
    name = /^ {2}([\w-]+):\s*$/.exec(line)?.[1] ?? name;
    const value = /^ {4}default:\s*"(.*)"\s*$/.exec(line)?.[1];
    if (value !== undefined) defaults[name] = value.replace('${{ github.token }}', 'ghs_bench_token');
  }
  return defaults;
}

const ACTION_DEFAULTS = actionDefaults();

/**
 * The inputs of a push deploy with the link in step (the fake's default link, `auto-deploy: false`).
 * @param {FakeScalingo} fake
 * @param {Record<string, string>} [extra]
 */
function pushInputs(fake, extra = {}) {
  return {
    ...ACTION_DEFAULTS,
    'api-token': TOKEN,
    app: APP,
    'api-url': fake.apiUrl,
    'auth-url': fake.authUrl,
    branch: BRANCH,
    'auto-deploy': 'false',
    comment: 'false',
    ...extra,
  };
}

/**
 * The environment of a step on a push of main: INPUT_* (hyphens kept), GITHUB_* context, payload and output files.
 * @param {string} dir
 * @param {Record<string, string>} inputs
 * @returns {NodeJS.ProcessEnv}
 */
function runnerEnv(dir, inputs) {
  const sha = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
  const files = { event: join(dir, 'event.json'), output: join(dir, 'output'), summary: join(dir, 'summary.md') };
  writeFileSync(
    files.event,
    JSON.stringify({ ref: `refs/heads/${BRANCH}`, after: sha, deleted: false, repository: { full_name: REPOSITORY } }),
  );
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: files.event,
    GITHUB_REF: `refs/heads/${BRANCH}`,
    GITHUB_REF_NAME: BRANCH,
    GITHUB_SHA: sha,
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9/unused',
    GITHUB_RUN_ID: '1234',
    GITHUB_ACTOR: 'octocat',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: dir,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  return env;
}

/**
 * Reads GitHub's `name<<DELIMITER` output file.
 * @param {string} file
 */
function readOutputs(file) {
  /** @type {Record<string, string>} */
  const outputs = {};
  for (const match of readFileSync(file, 'utf8').matchAll(/^([^<=\n]+)<<(.+)\n([\s\S]*?)\n?\2$/gm)) {
    outputs[/** @type {string} */ (match[1])] = /** @type {string} */ (match[3]);
  }
  return outputs;
}

/**
 * @typedef {object} StepRun
 * @property {string} dir The run's directory (RUNNER_TEMP).
 * @property {number} spawnedAt
 * @property {number} exitedAt
 * @property {RecordedRequest[]} requests What the fake received, in arrival order.
 * @property {DeploymentTimeline[]} deployments Deployments the run created.
 * @property {Record<string, string>} outputs
 */

/**
 * A program started as a step.
 * @typedef {object} Step
 * @property {string} label
 * @property {string} entry
 * @property {string[]} nodeArgs
 * @property {(run: StepRun) => string | undefined} problem Why the run did not do its job, if it did not.
 */

/**
 * The push must have deployed main to success with the link left as it was, and nothing else.
 * @param {StepRun} run
 */
function notDeployed(run) {
  const { outputs, deployments } = run;
  if (deployments.length !== 1 || outputs['deployment-status'] !== 'success' || outputs.link !== 'unchanged') {
    return `expected one successful deployment and link "unchanged", got ${deployments.length} deployment(s), outputs ${JSON.stringify(outputs)}`;
  }
  return undefined;
}

/**
 * The action (or its compilation) run as a step.
 * @param {string} label
 * @param {string} entry
 * @param {string[]} [nodeArgs]
 * @returns {Step}
 */
function actionStep(label, entry, nodeArgs = []) {
  return { label, entry, nodeArgs, problem: notDeployed };
}

/**
 * The @actions/core floor (see FLOOR_SOURCE) run as a step: it must have sent its one request.
 * @param {string} entry
 * @returns {Step}
 */
function floorStep(entry) {
  return {
    label: 'the @actions/core floor',
    entry,
    nodeArgs: [],
    problem: (run) => (run.requests.length === 1 ? undefined : `${run.requests.length} requests instead of 1`),
  };
}

/**
 * The same step with the memory probe loaded first (see writeMemoryProbe).
 * @param {Step} step
 * @param {string} probe
 * @returns {Step}
 */
function withMemoryProbe(step, probe) {
  return {
    ...step,
    label: `${step.label} with the memory probe`,
    nodeArgs: ['--import', pathToFileURL(probe).href, ...step.nodeArgs],
  };
}

/**
 * Runs a step once against a fresh fake Scalingo, on a push of main whose deployments follow `script`.
 * @param {Step} step
 * @param {{ script: DeployScript, inputs?: Record<string, string>, fake?: import('../support/fake-scalingo.js').FakeScalingoStartOptions }} scenario
 *   `fake`: more options of the fake (faults, onRequest).
 * @returns {Promise<StepRun>}
 */
async function runStep(step, scenario) {
  const fake = await startFakeScalingo({ ...scenario.fake, deployScript: scenario.script });
  try {
    const dir = runDir();
    const env = runnerEnv(dir, pushInputs(fake, scenario.inputs));
    const exit = await runNode(step.label, [...step.nodeArgs, step.entry], env);
    const run = {
      dir,
      ...exit,
      requests: [...fake.requests],
      deployments: fake.deploymentsCreated(),
      outputs: readOutputs(join(dir, 'output')),
    };
    const problem = step.problem(run);
    if (problem) throw new Error(`${step.label} exited 0 but did not do its job: ${problem}`);
    return run;
  } finally {
    await fake.close();
  }
}

// ---------------------------------------------------------------------------
// What the bench builds: the floor bundle, the unbundled compilation, the memory probe
// ---------------------------------------------------------------------------

/**
 * The floor: what every action built on @actions/core pays before its first request. It loads @actions/core, reads
 * an input, and sends the action's first request (the token exchange) with undici, the client @actions/core
 * already bundles (through @actions/http-client), so the floor loads no module @actions/core does not.
 */
const FLOOR_SOURCE = `import * as core from '@actions/core';
import { request } from 'undici';

core.getInput('app');
const basic = Buffer.from(':' + core.getInput('api-token')).toString('base64');
const res = await request(core.getInput('auth-url') + '/v1/tokens/exchange', {
  method: 'POST',
  headers: { authorization: 'Basic ' + basic, 'content-type': 'application/json' },
  body: '{}',
});
await res.body.text();
if (res.statusCode !== 200 && res.statusCode !== 201) core.setFailed('token exchange answered ' + res.statusCode);
`;

/** Builds the floor as the action is built (ncc, minified, es2022) and returns its entry. */
async function buildFloor() {
  const dir = join(WORK, 'floor');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/entry.mjs'), FLOOR_SOURCE);
  await runNode(
    'ncc build of the @actions/core floor',
    [NCC, 'build', join(dir, 'src/entry.mjs'), '-o', join(dir, 'out'), '--minify', '--target', 'es2022', '--quiet'],
    process.env,
  );
  return join(dir, 'out/index.mjs');
}

/** Compiles the sources with tsc, next to the repository's node_modules, and returns the entry. */
async function buildUnbundled() {
  const outDir = join(WORK, 'unbundled');
  await runNode(
    'tsc compilation of the sources',
    [TSC, '-p', '.', '--noEmit', 'false', '--outDir', outDir, '--rootDir', '.'],
    process.env,
    180_000,
  );
  // node_modules/ stops the lookup of the package scope: say that the compiled files are ES modules.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return join(outDir, 'src/index.js');
}

/** Writes a module that, loaded with --import, leaves the process's peak RSS (bytes) in $RUNNER_TEMP/max-rss. */
function writeMemoryProbe() {
  const probe = join(WORK, 'max-rss.mjs');
  writeFileSync(
    probe,
    `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

process.on('exit', () => writeFileSync(join(process.env.RUNNER_TEMP, 'max-rss'), String(process.resourceUsage().maxRSS * 1024)));
`,
  );
  return probe;
}

// ---------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------

/**
 * @typedef {object} Figure
 * @property {string} key Stable name, in the JSON.
 * @property {string} figure
 * @property {number} value
 * @property {string} unit
 * @property {string} measured As printed.
 * @property {number | null} limit The target is `value <= limit`; null: for information only.
 * @property {string} target As printed.
 * @property {boolean | null} ok
 */

/**
 * @param {Omit<Figure, 'ok'>} figure
 * @returns {Figure}
 */
function figure(figure) {
  return { ...figure, ok: figure.limit === null ? null : figure.value <= figure.limit };
}

/** Every file of dist/, lazily loaded chunks included. */
function distFiles() {
  if (!existsSync(ACTION)) throw new Error('dist/index.js is missing: run `npm run build` first.');
  return readdirSync(DIST, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { name: relative(DIST, path), bytes: statSync(path).size };
    });
}

/** @param {string[]} notes */
function measureDist(notes) {
  const files = distFiles();
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  notes.push(
    `dist/: ${files.map((file) => `${file.name} ${(file.bytes / 1024).toFixed(1)} KiB`).join(', ')}. MB = 10^6 bytes.`,
  );
  return figure({
    key: 'dist-size',
    figure: `dist/ total size (${files.length} files)`,
    value: total / MB,
    unit: 'MB',
    measured: megabytes(total),
    limit: 1.2,
    target: '<= 1.2 MB',
  });
}

/**
 * Medians, in ms, from spawn to the fake receiving the first request; the steps take turns, round after round,
 * after one warm-up round that is not counted.
 * @param {Step[]} steps
 */
async function startupMedians(steps) {
  /** @type {number[][]} */
  const samples = steps.map(() => []);
  for (let round = 0; round <= STARTUP_RUNS; round++) {
    for (const [index, step] of steps.entries()) {
      const run = await runStep(step, QUICK_PUSH);
      const first = /** @type {RecordedRequest} */ (run.requests[0]);
      if (round > 0) samples[index]?.push(first.at - run.spawnedAt);
    }
  }
  return samples.map(median);
}

/**
 * @param {{ bundle: Step, floor: Step, unbundled: Step }} steps
 * @param {string[]} notes
 */
async function measureStartup(steps, notes) {
  const [bundle = NaN, floor = NaN, unbundled = NaN] = await startupMedians([
    steps.bundle,
    steps.floor,
    steps.unbundled,
  ]);
  notes.push(
    `Start-up: from spawn to the fake receiving the first request (the token exchange), median of ${STARTUP_RUNS} runs; ` +
      'bundle, floor and unbundled runs take turns, after one warm-up round.',
    "Floor: ncc -m bundle of an entry that imports @actions/core, calls core.getInput('app') and sends the same token " +
      'exchange with undici. @actions/core already bundles undici (via @actions/http-client), so this floor loads nothing ' +
      "more than @actions/core itself; global fetch would add Node's own undici to the floor and flatter the ratio.",
    'Unbundled: the sources compiled by tsc, loaded with their node_modules (no bundle).',
  );
  return [
    figure({
      key: 'startup-ratio',
      figure: `start-up / @actions/core floor (median of ${STARTUP_RUNS})`,
      value: bundle / floor,
      unit: 'ratio',
      measured: `${(bundle / floor).toFixed(2)} (${bundle} ms / ${floor} ms)`,
      limit: 1.15,
      target: '<= 1.15',
    }),
    figure({
      key: 'startup-unbundled',
      figure: `start-up unbundled (median of ${STARTUP_RUNS})`,
      value: unbundled,
      unit: 'ms',
      measured: `${unbundled} ms = ${(unbundled / bundle).toFixed(2)} x bundle`,
      limit: null,
      target: 'info',
    }),
  ];
}

/** @param {RecordedRequest} request */
function isTrigger({ method, path }) {
  return method === 'POST' && path === `/v1/apps/${APP}/scm_repo_link/manual_deploy`;
}

/** @param {RecordedRequest} request */
function isStatusRead({ method, path }) {
  return method === 'GET' && new RegExp(`^/v1/apps/${APP}/deployments/[^/?]+$`).test(path);
}

/**
 * What a request of a push deploy is, in a few words; the method and path for any other.
 * @param {RecordedRequest} request
 */
function requestName(request) {
  const { method, path } = request;
  /** @type {Record<string, string>} */
  const names = {
    'POST /v1/tokens/exchange': 'token exchange',
    [`GET /v1/apps/${APP}/scm_repo_link`]: 'link',
    [`GET /v1/apps/${APP}`]: 'app',
    [`POST /v1/apps/${APP}/scm_repo_link/manual_deploy`]: 'trigger',
  };
  const [pathname = '', query = ''] = path.split('?');
  if (
    method === 'GET' &&
    pathname === `/v1/apps/${APP}/deployments` &&
    new URLSearchParams(query).get('per_page') === '1'
  )
    return 'newest deployment';
  return (
    names[`${method} ${path}`] ??
    (isStatusRead(request) ? 'status read' : `${method} ${path.replace(/[0-9a-f-]{36}/, ':id')}`)
  );
}

/** How long the fake holds each request of the round-trip run: far longer than requests sent together take to arrive. */
const ROUND_TRIP_HOLD_MS = 150;

/**
 * The requests before the trigger, in round trips: a request belongs to the round trip after the latest one whose
 * answer was over when it arrived (it may have waited for that answer); requests sent together, none waiting for
 * another's answer, share one. The fake holds every answer ROUND_TRIP_HOLD_MS, so that requests sent together still
 * arrive while the others are open on a loaded machine, and a request sent after an answer arrives after it.
 * @param {RecordedRequest[]} requests In arrival order.
 * @param {Map<RecordedRequest, number>} endedAt When each exchange was over.
 * @returns {RecordedRequest[][]}
 */
function roundTripsBeforeTrigger(requests, endedAt) {
  const trigger = requests.findIndex(isTrigger);
  if (trigger < 0) throw new Error('the round-trip run sent no deploy');
  const before = requests.slice(0, trigger);
  /** @type {number[]} */
  const roundOf = [];
  for (const [index, request] of before.entries()) {
    let round = 0;
    for (let earlier = 0; earlier < index; earlier++) {
      const ended = endedAt.get(/** @type {RecordedRequest} */ (before[earlier]));
      if (ended === undefined) throw new Error('the fake did not say when an exchange was over');
      if (ended <= request.at) round = Math.max(round, /** @type {number} */ (roundOf[earlier]) + 1);
    }
    roundOf.push(round);
  }
  /** @type {RecordedRequest[][]} */
  const rounds = [];
  for (const [index, request] of before.entries())
    (rounds[/** @type {number} */ (roundOf[index])] ??= []).push(request);
  return rounds;
}

/**
 * A quick push of the bundle whose every answer the fake holds ROUND_TRIP_HOLD_MS: the round trips before the trigger.
 * @param {Step} step
 */
async function roundTripRun(step) {
  /** @type {Map<RecordedRequest, number>} */
  const endedAt = new Map();
  const hold = { kind: /** @type {const} */ ('delay'), ms: ROUND_TRIP_HOLD_MS, times: Infinity };
  const run = await runStep(
    { ...step, label: `${step.label} with every answer held ${ROUND_TRIP_HOLD_MS} ms` },
    {
      ...QUICK_PUSH,
      fake: {
        faults: [
          { ...hold, service: 'auth' },
          { ...hold, service: 'api' },
        ],
        onRequest: (record) => endedAt.set(record, Date.now()),
      },
    },
  );
  return roundTripsBeforeTrigger(run.requests, endedAt);
}

/**
 * ms from the deployment's creation to its first status read, beyond the poll interval: where polls fall.
 * @param {StepRun} run
 * @param {number} intervalMs
 */
function pollLag(run, intervalMs) {
  const created = /** @type {DeploymentTimeline} */ (run.deployments[0]).createdAt;
  const firstRead = run.requests.find(isStatusRead);
  if (!firstRead) throw new Error('the push run read no deployment status');
  return firstRead.at - created - intervalMs;
}

/**
 * Quick pushes of a step with the memory probe loaded, one after the other.
 * @param {Step} step
 * @param {string} probe
 */
async function probedRuns(step, probe) {
  /** @type {StepRun[]} */
  const runs = [];
  for (let i = 0; i < MEMORY_RUNS; i++) runs.push(await runStep(withMemoryProbe(step, probe), QUICK_PUSH));
  return runs;
}

/**
 * The highest peak RSS (bytes) the probe recorded in these runs.
 * @param {StepRun[]} runs
 */
function maxRssOf(runs) {
  return Math.max(...runs.map((run) => Number(readFileSync(join(run.dir, 'max-rss'), 'utf8'))));
}

/**
 * Push deploys of the bundle, and runs of the floor, with the memory probe loaded: peak RSS, requests, where polls fall.
 * @param {{ bundle: Step, floor: Step }} steps
 * @param {string} probe
 * @param {string[]} notes
 */
async function measurePush(steps, probe, notes) {
  const runs = await probedRuns(steps.bundle, probe);
  const maxRss = maxRssOf(runs);
  const floorRss = maxRssOf(await probedRuns(steps.floor, probe));
  const total = Math.max(...runs.map((run) => run.requests.length));
  const beforeTrigger = Math.max(...runs.map((run) => run.requests.findIndex(isTrigger)));
  const lag = Math.max(...runs.map((run) => pollLag(run, 50)));
  const rounds = await roundTripRun(steps.bundle);
  const heldBefore = rounds.flat().length;
  if (heldBefore !== beforeTrigger)
    throw new Error(
      `the round-trip run sent ${heldBefore} requests before the trigger, the push runs ${beforeTrigger}`,
    );
  const worstRun = /** @type {StepRun} */ (runs.find((run) => run.requests.length === total));
  notes.push(
    `Push runs (${MEMORY_RUNS} of the bundle and ${MEMORY_RUNS} of the floor, worst of them shown): push of ${BRANCH}, link in step (the fake's default link, auto-deploy: false), ` +
      `deployment final on its first status read. Peak RSS: process.resourceUsage().maxRSS, read on exit by a module loaded with --import. ` +
      `Requests: ${worstRun.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/, ':id')}`).join(', ')}. ` +
      'The newest deployment is read before the trigger so that, after an answer to the trigger that is lost, the step adopts only a deployment newer than it. ' +
      `Round trips: one more push run with every answer held ${ROUND_TRIP_HOLD_MS} ms by the fake; a request that arrived after an earlier one's answer was over ` +
      `counts as sent after it: ${rounds.map((round) => round.map((r) => `${r.method} ${r.path}`).join(' + ')).join(', then ')}.`,
  );
  const roundsInWords = rounds.map((round) => round.map(requestName).join(' + ')).join(', then ');
  return {
    lag,
    figures: [
      figure({
        key: 'peak-rss',
        figure: 'peak memory (RSS), push deploy',
        value: maxRss / MB,
        unit: 'MB',
        measured: megabytes(maxRss),
        limit: 80,
        target: '<= 80 MB',
      }),
      figure({
        key: 'peak-rss-floor',
        figure: 'peak memory (RSS), @actions/core floor',
        value: floorRss / MB,
        unit: 'MB',
        measured: megabytes(floorRss),
        limit: null,
        target: 'info',
      }),
      figure({
        key: 'push-requests',
        figure: 'API requests, push in step, ends at once',
        value: total,
        unit: 'requests',
        measured: `${total} (${worstRun.requests.map(requestName).join(', ')})`,
        limit: 6,
        target: '<= 6',
      }),
      figure({
        key: 'requests-before-trigger',
        figure: 'requests before the deploy is triggered',
        value: beforeTrigger,
        unit: 'requests',
        measured: `${beforeTrigger} (${roundsInWords})`,
        limit: 4,
        target: '<= 4',
      }),
      figure({
        key: 'round-trips-before-trigger',
        figure: 'round trips before the deploy is triggered',
        value: rounds.length,
        unit: 'round trips',
        measured: String(rounds.length),
        limit: 2,
        target: '<= 2',
      }),
    ],
  };
}

/**
 * One push deploy with the default poll interval whose deployment ends `afterPollMs` after a poll: ms from the
 * deployment's final status to the step's exit, seen by the parent, and how it splits.
 * @param {number} intervalMs
 * @param {number} lag Where polls fall (see pollLag).
 * @param {number} afterPollMs
 */
async function finalToExit(intervalMs, lag, afterPollMs) {
  const script = { durationMs: intervalMs + Math.max(0, lag) + afterPollMs, final: 'success' };
  // The polling path (logs: false, or the stream unavailable): the live stream has figures of its own.
  const run = await runStep(actionStep('dist/index.js following a deployment', ACTION), {
    script,
    inputs: { logs: 'false' },
  });
  const { finalAt } = /** @type {DeploymentTimeline} */ (run.deployments[0]);
  if (finalAt === null) throw new Error('the deployment never ended');
  const reads = run.requests.filter(isStatusRead);
  const before = reads.filter((read) => read.at < finalAt).at(-1);
  const seen = reads.find((read) => read.at >= finalAt);
  if (!before || !seen)
    throw new Error(`the deployment's end could not be placed after a poll (lag ${lag} ms): run the bench again`);
  return {
    latency: run.exitedAt - finalAt,
    afterPoll: finalAt - before.at,
    seenAfter: seen.at - finalAt,
    exitAfterSeen: run.exitedAt - seen.at,
  };
}

/**
 * @param {number} lag
 * @param {string[]} notes
 */
async function measureExitLatency(lag, notes) {
  const intervalMs = Number(ACTION_DEFAULTS['poll-interval-seconds']) * 1000;
  const limit = intervalMs + 300;
  const cases = [
    { key: 'final-to-exit-worst', name: 'worst case', afterPollMs: PLACEMENT_MARGIN_MS },
    { key: 'final-to-exit-typical', name: 'typical case', afterPollMs: intervalMs / 2 },
  ];
  const figures = [];
  for (const { key, name, afterPollMs } of cases) {
    const t = await finalToExit(intervalMs, lag, afterPollMs);
    notes.push(
      `Final status -> exit, ${name}: the deployment ended ${t.afterPoll} ms after a poll; the next poll saw it ${seconds(t.seenAfter)} later, and the parent saw the step exit ${t.exitAfterSeen} ms after that poll.`,
    );
    figures.push(
      figure({
        key,
        figure: `final status -> step exit, ${name} (poll ${intervalMs / 1000} s, logs: false)`,
        value: t.latency / 1000,
        unit: 's',
        measured: seconds(t.latency),
        limit: limit / 1000,
        target: `<= ${seconds(limit)} (poll + 0.3 s)`,
      }),
    );
  }
  return figures;
}

/**
 * A five-minute deployment followed by polling (logs: false), time-scaled: the core in-process, as for the live
 * stream's figures, so that the step's request budget is scaled with the rest. The bundle run as a child keeps the
 * real budget (60 requests per 61 s), which holds polls a hundred times too fast for it.
 * @param {InProcessRun} runIt
 * @param {string[]} notes
 */
async function measureLongFollow(runIt, notes) {
  const intervalSeconds = Number(ACTION_DEFAULTS['poll-interval-seconds']) / TIME_SCALE;
  const durationMs = FIVE_MINUTES_MS / TIME_SCALE;
  const fake = await startFakeScalingo({ deployScript: { durationMs, final: 'success' }, stream: false });
  let polls;
  let total;
  let busiest;
  try {
    await runIt(fake, APP, TIME_SCALE, { logs: 'false' });
    polls = fake.requests.filter(isStatusRead).length;
    total = fake.requests.length;
    busiest = busiestWindow(fake.requests, 61_000 / TIME_SCALE);
  } finally {
    await fake.close();
  }
  notes.push(
    `5-minute deployment, logs: false, time-scaled x${TIME_SCALE}: the core in-process (the unbundled compilation), a ${durationMs} ms deployment polled every ${intervalSeconds} s, ` +
      `the step's request budget (60 per 61 s) scaled to 60 per ${61_000 / TIME_SCALE} ms; GET /v1/apps/${APP}/deployments/:id counted. ` +
      `${total} requests in all, at most ${busiest} in any scaled 61 s: the budget held none. ` +
      'Polls are spaced from the start of one to the start of the next, so late timers can only lower the scaled count.',
  );
  return figure({
    key: 'long-follow-polls',
    figure: `status requests, 5-min deployment, logs: false (time-scaled x${TIME_SCALE})`,
    value: polls,
    unit: 'requests',
    measured: String(polls),
    limit: 60,
    target: '<= 60',
  });
}

// ---------------------------------------------------------------------------
// Live build output (logs: true, the default): the deployments stream
// ---------------------------------------------------------------------------

/** The product's safety read while the stream is live, and the fake's pings, in real time (scaled below). */
const SAFETY_READ_MS = 30_000;
const STREAM_PING_MS = 20_000;
const CONCURRENT_DEPLOYMENTS = 10;

/**
 * Runs a step once like runStep, with the time of each chunk of its output: what it printed when.
 * @param {{ script: DeployScript, inputs?: Record<string, string> }} scenario
 */
async function runTimedStep(scenario) {
  const fake = await startFakeScalingo({ deployScript: scenario.script });
  try {
    const dir = runDir();
    const env = runnerEnv(dir, pushInputs(fake, scenario.inputs));
    /** @type {{ text: string, at: number }[]} */
    const chunks = [];
    const exitedAt = await new Promise((resolvePromise, reject) => {
      let exited = 0;
      const child = spawn(process.execPath, [ACTION], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (chunk) => chunks.push({ text: String(chunk), at: Date.now() }));
      child.stderr.on('data', () => undefined);
      child.on('error', reject);
      child.on('exit', () => (exited = Date.now()));
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise(exited);
        else
          reject(
            new Error(
              `dist/index.js with a live stream failed (exit code ${code}); its output ends with:\n${tail(chunks.map((c) => c.text).join(''))}`,
            ),
          );
      });
    });
    const deployment = /** @type {DeploymentTimeline} */ (fake.deploymentsCreated()[0]);
    const stream = fake.stream;
    if (!stream || deployment.finalAt === null)
      throw new Error('the live run did not follow a deployment to its end on the stream');
    const lines = stream.outputOf(deployment.app, deployment.id).replace(/\n$/, '').split('\n');
    const reads = fake.requests.filter(isStatusRead);
    const lastRead = reads.at(-1)?.at ?? NaN;
    return {
      exitedAt,
      chunks,
      lines,
      finalAt: deployment.finalAt,
      endSentAt: fake.streamEndAt(deployment.id) ?? NaN,
      lastRead,
      reads: reads.length,
    };
  } finally {
    await fake.close();
  }
}

/**
 * The built action with action.yml's defaults (poll 5 s, logs true) following a deployment on a healthy stream:
 * from its end to the step's exit, and the build lines as they were shown.
 * @param {string[]} notes
 */
async function measureLiveEnd(notes) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await runTimedStep({ script: { durationMs: 4000, final: 'success' } }));
  const latencies = runs.map((run) => run.exitedAt - run.finalAt);
  const worst = Math.max(...latencies);
  const slowest = /** @type {(typeof runs)[number]} */ (runs[latencies.indexOf(worst)]);
  let allOnceInOrder = true;
  let beforeEnd = Infinity;
  for (const run of runs) {
    const wanted = new Set(run.lines);
    const shown = run.chunks
      .map((c) => c.text)
      .join('')
      .split('\n')
      .filter((line) => wanted.has(line));
    if (JSON.stringify(shown) !== JSON.stringify(run.lines)) allOnceInOrder = false;
    // Lines whose chunk arrived before the deployment ended (the last one comes with its end).
    const early = run.lines.filter(
      (line) => (run.chunks.find((c) => c.text.split('\n').includes(line))?.at ?? Infinity) < run.finalAt,
    ).length;
    beforeEnd = Math.min(beforeEnd, early);
  }
  const total = runs[0]?.lines.length ?? 0;
  notes.push(
    `Live output: ${runs.length} push deploys of dist/index.js with action.yml's defaults (poll-interval-seconds ${ACTION_DEFAULTS['poll-interval-seconds']}, logs ${ACTION_DEFAULTS.logs}), ` +
      `a 4 s deployment on the fake's stream (one log event per line, pings every ${STREAM_PING_MS / 1000} s); end = when the fake ended the deployment, exit = when the parent saw the step exit (worst run); ` +
      `lines: the build output of the fake's /output, looked for in stdout, each chunk timed as it arrived. ` +
      `End -> exit of each run: ${latencies.map((ms) => `${ms} ms`).join(', ')}; in the slowest, the stream sent the end ${slowest.endSentAt - slowest.finalAt} ms after it, ` +
      (slowest.reads === 0
        ? `and the step, taking the stream's final status with no status read, exited ${slowest.exitedAt - slowest.endSentAt} ms after it.`
        : `the confirming status read arrived ${slowest.lastRead - slowest.endSentAt} ms later, and the step exited ${slowest.exitedAt - slowest.lastRead} ms after that read (${slowest.reads} status read(s) in all).`),
  );
  return [
    figure({
      key: 'live-end-to-exit',
      figure: 'deployment end -> step exit, live stream (defaults)',
      value: worst / 1000,
      unit: 's',
      measured: seconds(worst),
      limit: 0.3,
      target: '<= 0.30 s',
    }),
    figure({
      key: 'live-lines',
      figure: 'build lines shown while the build runs',
      value: allOnceInOrder ? 0 : 1,
      unit: 'problems',
      measured: `${allOnceInOrder ? 'all' : 'NOT all'} ${total}, each once, in order; ${beforeEnd} before the end`,
      limit: 0,
      target: 'all, each once, in order',
    }),
  ];
}

/**
 * A push step of `app` run in-process, its timings divided by `scale`, with more inputs in `extra`.
 * @callback InProcessRun
 * @param {FakeScalingo} fake
 * @param {string} app
 * @param {number} scale
 * @param {Record<string, string>} [extra]
 * @returns {Promise<unknown>}
 */

/**
 * The core in-process (the unbundled compilation) as a push step of one app: the timings of the following scaled
 * down by `scale` (safety read, stream silence and backoff, the step's request budget), as the fake's pings.
 * @param {string} unbundledDir
 */
async function inProcessRunner(unbundledDir) {
  const load = (/** @type {string} */ path) => import(pathToFileURL(join(unbundledDir, path)).href);
  const [{ runStep }, { parseSettings }, { githubContext }] = await Promise.all([
    load('src/core/step.js'),
    load('src/core/settings.js'),
    load('src/platform/github/event.js'),
  ]);
  /** @type {InProcessRun} */
  return async (fake, app, scale, extra = {}) => {
    /** @type {Record<string, string>} */
    const inputs = pushInputs(fake, {
      app,
      'poll-interval-seconds': String(Number(ACTION_DEFAULTS['poll-interval-seconds']) / scale),
      ...extra,
    });
    const ctx = githubContext(
      {
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: `refs/heads/${BRANCH}`,
        GITHUB_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_SERVER_URL: 'https://github.com',
      },
      {
        ref: `refs/heads/${BRANCH}`,
        after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        deleted: false,
        repository: { full_name: REPOSITORY },
      },
    );
    const settings = parseSettings((/** @type {string} */ name) => inputs[name], { source: ctx.repositoryUrl });
    const quiet = {
      info: () => {},
      warning: () => {},
      debug: () => {},
      group: (/** @type {string} */ _, /** @type {() => Promise<unknown>} */ fn) => fn(),
    };
    const step = await runStep(settings, ctx, {
      log: quiet,
      userAgent: 'scalingo-deploy/bench',
      tuning: {
        rateLimit: { limit: 60, windowMs: 61_000 / scale },
        followTimings: {
          safetyReadMs: SAFETY_READ_MS / scale,
          stream: {
            silenceMs: 30_000 / scale,
            stableMs: 30_000 / scale,
            firstBackoffMs: 500 / scale,
            maxBackoffMs: 8_000 / scale,
          },
        },
      },
    });
    const failed = step.runs.filter((/** @type {{ ok: boolean }} */ r) => !r.ok);
    if (!step.ok || failed.length) throw new Error(`the in-process step of ${app} did not deploy: ${step.message}`);
    return step;
  };
}

/**
 * Five-minute deployments followed on a healthy stream, time-scaled: status reads for one; the requests of ten at
 * once under one token, in any minute.
 * @param {InProcessRun} runIt
 * @param {string[]} notes
 */
async function measureLiveRequests(runIt, notes) {
  const durationMs = FIVE_MINUTES_MS / TIME_SCALE;
  const streamOptions = { options: { pingIntervalMs: STREAM_PING_MS / TIME_SCALE } };

  const single = await startFakeScalingo({ deployScript: { durationMs, final: 'success' }, stream: streamOptions });
  let reads;
  try {
    await runIt(single, APP, TIME_SCALE);
    reads = single.requests.filter(isStatusRead).length;
  } finally {
    await single.close();
  }

  const apps = Array.from({ length: CONCURRENT_DEPLOYMENTS }, (_, i) => `app-${i + 1}`);
  const many = await startFakeScalingo({
    apps: Object.fromEntries(apps.map((name) => [name, {}])),
    links: Object.fromEntries(
      apps.map((name) => [
        name,
        { source: `https://github.com/${REPOSITORY}`, branch: BRANCH, auto_deploy_enabled: false },
      ]),
    ),
    deployScript: { durationMs, final: 'success' },
    stream: streamOptions,
  });
  let perMinute = 0;
  let apiTotal;
  let authTotal;
  try {
    await Promise.all(apps.map((app) => runIt(many, app, TIME_SCALE)));
    const scaledMinute = 60_000 / TIME_SCALE;
    const times = many.requests
      .filter((r) => r.service === 'api')
      .map((r) => r.at)
      .sort((a, b) => a - b);
    for (let i = 0, j = 0; i < times.length; i++) {
      while (/** @type {number} */ (times[i]) - /** @type {number} */ (times[j]) >= scaledMinute) j++;
      perMinute = Math.max(perMinute, i - j + 1);
    }
    apiTotal = times.length;
    authTotal = many.requests.filter((r) => r.service === 'auth').length;
  } finally {
    await many.close();
  }
  notes.push(
    `Live stream, time-scaled x${TIME_SCALE}: the core in-process (the unbundled compilation), 5-minute deployments of ${durationMs} ms, ` +
      `the safety read (${SAFETY_READ_MS / 1000} s), poll interval, stream silence and backoff, and the fake's pings all divided by ${TIME_SCALE}. ` +
      `Ten at once: ten push runs of ten apps under one API token, started together (each its own process's view: own bearer, own request budget); ` +
      `the most regional-API requests that arrived within any ${60_000 / TIME_SCALE} ms (a scaled minute): ${perMinute}, of ${apiTotal} in all over the five minutes, plus ${authTotal} token exchanges on the auth service.`,
  );
  return [
    figure({
      key: 'live-status-reads',
      figure: `status reads, 5-min deployment, live stream (time-scaled x${TIME_SCALE})`,
      value: reads,
      unit: 'requests',
      measured: String(reads),
      limit: 12,
      target: '<= 12',
    }),
    figure({
      key: 'live-ten-per-minute',
      figure: `API requests per minute, ${CONCURRENT_DEPLOYMENTS} deployments at once, one token`,
      value: perMinute,
      unit: 'requests',
      measured: String(perMinute),
      limit: 60,
      target: '<= 60',
    }),
  ];
}

// ---------------------------------------------------------------------------
// Several apps in one step: discovery through the list of links, and the shared request budget
// ---------------------------------------------------------------------------

/**
 * Runs the action once on a push of main against a fresh fake, with its own apps and links.
 * @param {string} label
 * @param {import('../support/fake-scalingo.js').FakeScalingoOptions} world
 * @param {Record<string, string>} inputs
 * @param {number} [timeoutMs]
 */
async function runManyStep(label, world, inputs, timeoutMs = 60_000) {
  const fake = await startFakeScalingo(world);
  try {
    const dir = runDir();
    const exit = await runNode(label, [ACTION], runnerEnv(dir, pushInputs(fake, inputs)), timeoutMs);
    return {
      ...exit,
      requests: [...fake.requests],
      deployments: fake.deploymentsCreated(),
      outputs: readOutputs(join(dir, 'output')),
    };
  } finally {
    await fake.close();
  }
}

/**
 * The most requests a fake received in any window of `windowMs`.
 * @param {RecordedRequest[]} requests
 * @param {number} windowMs
 */
function busiestWindow(requests, windowMs) {
  const at = requests.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < at.length; last++) {
    while (/** @type {number} */ (at[last]) - /** @type {number} */ (at[first]) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/**
 * Discovery over 500 links (10 pages of 50), against the same step naming its app; then six apps in one step under
 * Scalingo's 60 requests a minute (the fake answers 429 `Retry later` past it).
 * @param {string[]} notes
 * @returns {Promise<Figure[]>}
 */
async function measureManyApps(notes) {
  /** @type {NonNullable<import('../support/fake-scalingo.js').FakeScalingoOptions['links']>} */
  const links = {};
  for (let i = 0; i < 497; i++)
    links[`other-${i}`] = { source: `https://github.com/someone-${i % 13}/repo-${i}`, branch: BRANCH };
  Object.assign(links, {
    'svc-main': { branch: BRANCH },
    'svc-staging': { branch: 'staging' },
    'svc-docs': { branch: 'docs' },
  });
  const world = {
    apps: Object.fromEntries(Object.keys(links).map((name) => [name, {}])),
    links,
    deployScript: ['queued', 'success'],
  };
  const quick = { 'poll-interval-seconds': '0.05', logs: 'false' };
  const named = await runManyStep('dist/index.js naming its app among 500 links', world, { ...quick, app: 'svc-main' });
  const found = await runManyStep('dist/index.js finding its app among 500 links', world, { ...quick, app: '' });
  const deployedFound = found.deployments.map((d) => d.app).join(',');
  if (deployedFound !== 'svc-main' || !/"app":"svc-main"/.test(found.outputs.apps ?? '')) {
    throw new Error(
      `discovery deployed ${deployedFound || 'nothing'} instead of svc-main; outputs ${JSON.stringify(found.outputs)}`,
    );
  }
  const pages = found.requests.filter((r) => r.path.startsWith('/v1/scm_repo_links')).length;
  const addedRequests = found.requests.length - named.requests.length;
  const addedMs = found.exitedAt - found.spawnedAt - (named.exitedAt - named.spawnedAt);
  notes.push(
    `Discovery: 500 links (497 of other repositories, 3 of this one on 3 branches) at 50 a page, push of ${BRANCH}; ` +
      `the same step naming its app is the reference. Added: ${addedRequests} request(s), ${pages} of them list pages ` +
      '(links name their app by id: the chosen app is read once for its name, and its deploy uses that read).',
  );

  const six = ['svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-5', 'svc-6'];
  const budget = await runManyStep(
    'dist/index.js deploying six apps under 60 requests a minute',
    {
      apps: Object.fromEntries(six.map((name) => [name, {}])),
      links: Object.fromEntries(six.map((name) => [name, { branch: BRANCH }])),
      deployScript: { durationMs: 4000, final: 'success' },
      rateLimitPerMinute: 60,
    },
    { app: six.join(','), 'poll-interval-seconds': '0.5', logs: 'false' },
    180_000,
  );
  const throttled = budget.requests.filter((r) => r.status === 429).length;
  const succeeded = budget.deployments.filter((d) => d.status === 'success').length;
  if (succeeded !== six.length) throw new Error(`six apps: ${succeeded} deployment(s) succeeded`);
  notes.push(
    `Six apps: one step with \`app: ${six.join(',')}\`, 4-second deployments polled every 0.5 s, the fake limited to 60 requests ` +
      `a minute per credential (429 \`Retry later\` past it): ${budget.requests.length} requests in ${seconds(budget.exitedAt - budget.spawnedAt)}, ` +
      `at most ${busiestWindow(budget.requests, 60_000)} in any 60 s.`,
  );
  return [
    figure({
      key: 'discovery-requests',
      figure: 'discovery over 500 links (10 pages): requests added',
      value: addedRequests,
      unit: 'requests',
      measured: `${addedRequests} (${pages} list pages)`,
      limit: 10,
      target: '<= 10',
    }),
    figure({
      key: 'discovery-time',
      figure: 'discovery over 500 links (10 pages): time added',
      value: addedMs,
      unit: 'ms',
      measured: seconds(addedMs),
      limit: 1000,
      target: '<= 1 s',
    }),
    figure({
      key: 'six-apps-429',
      figure: 'six apps in one step under 60 requests/minute: 429 answers',
      value: throttled,
      unit: 'responses',
      measured: String(throttled),
      limit: 0,
      target: '0',
    }),
  ];
}

// ---------------------------------------------------------------------------
// Many apps at the speed Scalingo allows: 10 deployments of one owner at once, 60 requests a minute
// ---------------------------------------------------------------------------

/** How much faster than real time the many-apps figures run (their figures are given back in real time). */
const MANY_SCALE = 10;
/** A deployment of the many-apps figures, in real time. */
const MANY_DEPLOYMENT_MS = 8000;

/**
 * One step deploying `count` apps against a fake that runs at most 10 deployments of one owner at once (the others
 * stay queued) and answers 429 past 60 requests a minute, 8-second deployments, all time-scaled: the wall time
 * against the floor, the requests an app, the 429s received.
 * @param {InProcessRun} runIt
 * @param {number} count
 * @param {number} floorMs The least time Scalingo's limits allow, in real time.
 */
async function manyAppsRun(runIt, count, floorMs) {
  const apps = Array.from({ length: count }, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);
  const fake = await startFakeScalingo({
    apps: Object.fromEntries(apps.map((name) => [name, {}])),
    links: Object.fromEntries(
      apps.map((name) => [
        name,
        { source: `https://github.com/${REPOSITORY}`, branch: BRANCH, auto_deploy_enabled: false },
      ]),
    ),
    deployScript: { durationMs: MANY_DEPLOYMENT_MS / MANY_SCALE, final: 'success' },
    rateLimitPerMinute: 60,
    rateLimitWindowMs: 60_000 / MANY_SCALE,
    maxRunningDeployments: 10,
    stream: { options: { pingIntervalMs: STREAM_PING_MS / MANY_SCALE } },
  });
  try {
    const started = Date.now();
    await runIt(fake, apps.join(','), MANY_SCALE);
    const wallMs = (Date.now() - started) * MANY_SCALE;
    return {
      count,
      wallMs,
      floorMs,
      ratio: wallMs / floorMs,
      perApp: fake.requests.length / count,
      throttled: fake.requests.filter((r) => r.status === 429).length,
      busiest: busiestWindow(fake.requests, 60_000 / MANY_SCALE),
    };
  } finally {
    await fake.close();
  }
}

/**
 * @param {InProcessRun} runIt
 * @param {string[]} notes
 * @returns {Promise<Figure[]>}
 */
async function measureManyAppsSpeed(runIt, notes) {
  // Ten: one wave of 8 s. Twenty-five: 3 requests an app fit in Scalingo's 60 a minute in about a minute, while three
  // waves of 8 s run: the budget is the floor.
  const runs = [await manyAppsRun(runIt, 10, MANY_DEPLOYMENT_MS), await manyAppsRun(runIt, 25, 60_000)];
  for (const r of runs) {
    notes.push(
      `${r.count} apps in one step, time-scaled x${MANY_SCALE} (figures given back in real time): the core in-process, deployments of ${MANY_DEPLOYMENT_MS / 1000} s, ` +
        `the fake running at most 10 deployments of the owner at once (the rest queued) and answering 429 past 60 requests a minute; ` +
        `${seconds(r.wallMs)} for a floor of ${seconds(r.floorMs)} (x${r.ratio.toFixed(2)}), ${r.perApp.toFixed(2)} requests an app (the token exchange and the list of links included), ` +
        `${r.throttled} 429 received, at most ${r.busiest} requests in any minute.`,
    );
  }
  return runs.flatMap((r) => [
    figure({
      key: `many-${r.count}-wall`,
      figure: `${r.count} apps, 10 running at once, 60 requests/minute: wall time / floor`,
      value: r.ratio,
      unit: 'x',
      measured: `${seconds(r.wallMs)} / ${seconds(r.floorMs)} = x${r.ratio.toFixed(2)}`,
      limit: 1.3,
      target: '<= x1.3',
    }),
    figure({
      key: `many-${r.count}-requests`,
      figure: `${r.count} apps: requests an app`,
      value: r.perApp,
      unit: 'requests',
      measured: r.perApp.toFixed(2),
      limit: 3.5,
      target: '<= 3.5',
    }),
    figure({
      key: `many-${r.count}-429`,
      figure: `${r.count} apps: 429 answers`,
      value: r.throttled,
      unit: 'responses',
      measured: String(r.throttled),
      limit: 0,
      target: '0',
    }),
  ]);
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    /** The build measured, relative to the repository when inside it. */
    dist: relative(ROOT, DIST).startsWith('..') ? DIST : relative(ROOT, DIST),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/**
 * @param {string[][]} rows The first row is the header.
 */
function renderTable(rows) {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const line = (/** @type {string[]} */ row) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [header = [], ...body] = rows;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

/**
 * @param {Figure[]} figures
 * @param {string[]} notes
 * @param {ReturnType<typeof machine>} host
 */
function report(figures, notes, host) {
  const ok = (/** @type {boolean | null} */ value) => (value === null ? '-' : value ? 'yes' : 'NO');
  const rows = [
    ['figure', 'measured', 'target', 'ok?'],
    ...figures.map((f) => [f.figure, f.measured, f.target, ok(f.ok)]),
  ];
  return [
    `Measured with Node ${host.node}${host.dist === 'dist' ? '' : `, build in ${host.dist}`}:`,
    '',
    renderTable(rows),
    '',
    'Notes:',
    ...notes.map((note, index) => `${index + 1}. ${note}`),
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB memory, node ${host.node}, ${host.os}, ${host.date}`,
  ].join('\n');
}

async function main() {
  const values = OPTIONS;
  rmSync(WORK, { recursive: true, force: true });
  try {
    /** @type {string[]} */
    const notes = [];
    const figures = [measureDist(notes)];
    const [floorEntry, unbundledEntry] = await Promise.all([buildFloor(), buildUnbundled()]);
    const steps = {
      bundle: actionStep('dist/index.js', ACTION),
      floor: floorStep(floorEntry),
      unbundled: actionStep('the unbundled compilation', unbundledEntry),
    };
    figures.push(...(await measureStartup(steps, notes)));
    const push = await measurePush(steps, writeMemoryProbe(), notes);
    figures.push(...push.figures);
    figures.push(...(await measureExitLatency(push.lag, notes)));
    const inProcess = await inProcessRunner(resolve(unbundledEntry, '../..'));
    figures.push(await measureLongFollow(inProcess, notes));
    figures.push(...(await measureManyApps(notes)));
    figures.push(...(await measureLiveEnd(notes)));
    figures.push(...(await measureLiveRequests(inProcess, notes)));
    figures.push(...(await measureManyAppsSpeed(inProcess, notes)));

    const host = machine();
    console.log(report(figures, notes, host));
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: host, figures, notes }, null, 2)}\n`);
    if (figures.some((f) => f.ok === false)) process.exitCode = 1;
  } finally {
    rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
