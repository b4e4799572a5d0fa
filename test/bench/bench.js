// @ts-check
/**
 * @file Performance figures of the built action, measured in one run against the fake Scalingo API on
 * 127.0.0.1, printed as one table (figure | measured | target | ok?) followed by the machine.
 *
 *   npm run bench [-- --json FILE]
 *
 * It measures dist/ as it is: run `npm run build` first after a change to src/. Every run of the action is
 * started as GitHub's runner starts it (INPUT_* variables with action.yml's defaults, GITHUB_* context, event
 * payload and output files), on a push of main to the repository every fake app is linked to. A run that fails,
 * or does not deploy what it should, aborts the bench: the figures of a failing run mean nothing. The exit code
 * is 1 when a target is missed.
 *
 * Scratch files (the @actions/core floor bundle, the unbundled compilation, the run directories) live in
 * node_modules/.cache/bench/, inside the repository so that node_modules resolve, and are removed at the end.
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
const DIST = join(ROOT, 'dist');
const ACTION = join(DIST, 'index.js');
const WORK = join(ROOT, 'node_modules/.cache/bench');
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
  return sorted.length % 2 ? /** @type {number} */ (sorted[middle]) : (/** @type {number} */ (sorted[middle - 1]) + /** @type {number} */ (sorted[middle])) / 2;
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
      else reject(new Error(`${label} failed (${signal ? `killed by ${signal}` : `exit code ${code}`}); its output ends with:\n${tail(output)}`));
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
  writeFileSync(files.event, JSON.stringify({ ref: `refs/heads/${BRANCH}`, after: sha, deleted: false, repository: { full_name: REPOSITORY } }));
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
  return { label: 'the @actions/core floor', entry, nodeArgs: [], problem: (run) => (run.requests.length === 1 ? undefined : `${run.requests.length} requests instead of 1`) };
}

/**
 * The same step with the memory probe loaded first (see writeMemoryProbe).
 * @param {Step} step
 * @param {string} probe
 * @returns {Step}
 */
function withMemoryProbe(step, probe) {
  return { ...step, label: `${step.label} with the memory probe`, nodeArgs: ['--import', pathToFileURL(probe).href, ...step.nodeArgs] };
}

/**
 * Runs a step once against a fresh fake Scalingo, on a push of main whose deployments follow `script`.
 * @param {Step} step
 * @param {{ script: DeployScript, inputs?: Record<string, string> }} scenario
 * @returns {Promise<StepRun>}
 */
async function runStep(step, scenario) {
  const fake = await startFakeScalingo({ deployScript: scenario.script });
  try {
    const dir = runDir();
    const env = runnerEnv(dir, pushInputs(fake, scenario.inputs));
    const exit = await runNode(step.label, [...step.nodeArgs, step.entry], env);
    const run = { dir, ...exit, requests: [...fake.requests], deployments: fake.deploymentsCreated(), outputs: readOutputs(join(dir, 'output')) };
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
  await runNode('ncc build of the @actions/core floor', [NCC, 'build', join(dir, 'src/entry.mjs'), '-o', join(dir, 'out'), '--minify', '--target', 'es2022', '--quiet'], process.env);
  return join(dir, 'out/index.mjs');
}

/** Compiles the sources with tsc, next to the repository's node_modules, and returns the entry. */
async function buildUnbundled() {
  const outDir = join(WORK, 'unbundled');
  await runNode('tsc compilation of the sources', [TSC, '-p', '.', '--noEmit', 'false', '--outDir', outDir, '--rootDir', '.'], process.env, 180_000);
  // node_modules/ stops the lookup of the package scope: say that the compiled files are ES modules.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return join(outDir, 'src/index.js');
}

/** Writes a module that, loaded with --import, leaves the process's peak RSS (bytes) in $RUNNER_TEMP/max-rss. */
function writeMemoryProbe() {
  const probe = join(WORK, 'max-rss.mjs');
  writeFileSync(probe, `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

process.on('exit', () => writeFileSync(join(process.env.RUNNER_TEMP, 'max-rss'), String(process.resourceUsage().maxRSS * 1024)));
`);
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
  notes.push(`dist/: ${files.map((file) => `${file.name} ${(file.bytes / 1024).toFixed(1)} KiB`).join(', ')}. MB = 10^6 bytes.`);
  return figure({
    key: 'dist-size', figure: `dist/ total size (${files.length} files)`, value: total / MB, unit: 'MB',
    measured: megabytes(total), limit: 1.2, target: '<= 1.2 MB',
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
  const [bundle = NaN, floor = NaN, unbundled = NaN] = await startupMedians([steps.bundle, steps.floor, steps.unbundled]);
  notes.push(
    `Start-up: from spawn to the fake receiving the first request (the token exchange), median of ${STARTUP_RUNS} runs; `
      + 'bundle, floor and unbundled runs take turns, after one warm-up round.',
    'Floor: ncc -m bundle of an entry that imports @actions/core, calls core.getInput(\'app\') and sends the same token '
      + 'exchange with undici. @actions/core already bundles undici (via @actions/http-client), so this floor loads nothing '
      + 'more than @actions/core itself; global fetch would add Node\'s own undici to the floor and flatter the ratio.',
    'Unbundled: the sources compiled by tsc, loaded with their node_modules (no bundle).',
  );
  return [
    figure({
      key: 'startup-ratio', figure: `start-up / @actions/core floor (median of ${STARTUP_RUNS})`, value: bundle / floor, unit: 'ratio',
      measured: `${(bundle / floor).toFixed(2)} (${bundle} ms / ${floor} ms)`, limit: 1.2, target: '<= 1.2',
    }),
    figure({
      key: 'startup-unbundled', figure: `start-up unbundled (median of ${STARTUP_RUNS})`, value: unbundled, unit: 'ms',
      measured: `${unbundled} ms = ${(unbundled / bundle).toFixed(2)} x bundle`, limit: null, target: 'info',
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
  notes.push(
    `Push runs (${MEMORY_RUNS} of the bundle and ${MEMORY_RUNS} of the floor, worst of them shown): push of ${BRANCH}, link in step (the fake's default link, auto-deploy: false), `
      + `deployment final on its first status read. Peak RSS: process.resourceUsage().maxRSS, read on exit by a module loaded with --import. `
      + `Requests: ${(/** @type {StepRun} */ (runs[0])).requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/, ':id')}`).join(', ')}.`,
  );
  return {
    lag,
    figures: [
      figure({ key: 'peak-rss', figure: 'peak memory (RSS), push deploy', value: maxRss / MB, unit: 'MB', measured: megabytes(maxRss), limit: 80, target: '<= 80 MB' }),
      figure({ key: 'peak-rss-floor', figure: 'peak memory (RSS), @actions/core floor', value: floorRss / MB, unit: 'MB', measured: megabytes(floorRss), limit: null, target: 'info' }),
      figure({ key: 'push-requests', figure: 'API requests, push in step, ends at once', value: total, unit: 'requests', measured: String(total), limit: 5, target: '<= 5' }),
      figure({ key: 'requests-before-trigger', figure: 'requests before the deploy is triggered', value: beforeTrigger, unit: 'requests', measured: String(beforeTrigger), limit: 3, target: '<= 3' }),
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
  const run = await runStep(actionStep('dist/index.js following a deployment', ACTION), { script });
  const { finalAt } = /** @type {DeploymentTimeline} */ (run.deployments[0]);
  if (finalAt === null) throw new Error('the deployment never ended');
  const reads = run.requests.filter(isStatusRead);
  const before = reads.filter((read) => read.at < finalAt).at(-1);
  const seen = reads.find((read) => read.at >= finalAt);
  if (!before || !seen) throw new Error(`the deployment's end could not be placed after a poll (lag ${lag} ms): run the bench again`);
  return { latency: run.exitedAt - finalAt, afterPoll: finalAt - before.at, seenAfter: seen.at - finalAt, exitAfterSeen: run.exitedAt - seen.at };
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
    notes.push(`Final status -> exit, ${name}: the deployment ended ${t.afterPoll} ms after a poll; the next poll saw it ${seconds(t.seenAfter)} later, and the parent saw the step exit ${t.exitAfterSeen} ms after that poll.`);
    figures.push(figure({
      key, figure: `final status -> step exit, ${name} (poll ${intervalMs / 1000} s)`, value: t.latency / 1000, unit: 's',
      measured: seconds(t.latency), limit: limit / 1000, target: `<= ${seconds(limit)} (poll + 0.3 s)`,
    }));
  }
  return figures;
}

/** @param {string[]} notes */
async function measureLongFollow(notes) {
  const intervalSeconds = Number(ACTION_DEFAULTS['poll-interval-seconds']) / TIME_SCALE;
  const durationMs = FIVE_MINUTES_MS / TIME_SCALE;
  const run = await runStep(actionStep('dist/index.js following a long deployment', ACTION), {
    script: { durationMs, final: 'success' },
    inputs: { 'poll-interval-seconds': String(intervalSeconds) },
  });
  const polls = run.requests.filter(isStatusRead).length;
  notes.push(`5-minute deployment, time-scaled x${TIME_SCALE}: a ${durationMs} ms deployment polled every ${intervalSeconds} s; GET /v1/apps/${APP}/deployments/:id counted. `
    + 'Polls are spaced from the start of one to the start of the next, so late timers can only lower the scaled count.');
  return figure({
    key: 'long-follow-polls', figure: `status requests, 5-min deployment (time-scaled x${TIME_SCALE})`, value: polls, unit: 'requests',
    measured: String(polls), limit: 60, target: '<= 60',
  });
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
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/**
 * @param {string[][]} rows The first row is the header.
 */
function renderTable(rows) {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const line = (/** @type {string[]} */ row) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
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
  const rows = [['figure', 'measured', 'target', 'ok?'], ...figures.map((f) => [f.figure, f.measured, f.target, ok(f.ok)])];
  return [
    renderTable(rows),
    '',
    'Notes:',
    ...notes.map((note, index) => `${index + 1}. ${note}`),
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB memory, node ${host.node}, ${host.os}, ${host.date}`,
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({ options: { json: { type: 'string' } } });
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
    figures.push(await measureLongFollow(notes));

    const host = machine();
    console.log(report(figures, notes, host));
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: host, figures, notes }, null, 2)}\n`);
    if (figures.some((f) => f.ok === false)) process.exitCode = 1;
  } finally {
    rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
