// @ts-check
/**
 * @file Drives the fake Scalingo with Scalingo's own CLI (github.com/Scalingo/cli), a check that the fake answers as
 * Scalingo does for a client nobody here wrote. Not part of `npm test`: it needs a `scalingo` binary, built from the
 * CLI's source with Go. On Debian 12 (Go 1.19; the CLI vendors its dependencies, so the build needs no network):
 *
 *   apt-get install -y golang
 *   git clone --depth 1 --branch 1.31.0 https://github.com/Scalingo/cli ../scalingo-cli
 *   (cd ../scalingo-cli && go build -mod=vendor -o scalingo ./scalingo)
 *   node test/official-cli/official-cli.js [--verbose] ../scalingo-cli/scalingo
 *
 * It starts the fake standalone (`node test/support/fake-scalingo.js options.json`), points the CLI at it with only
 * SCALINGO_API_URL, SCALINGO_DB_URL, SCALINGO_AUTH_URL and SCALINGO_API_TOKEN (and a throwaway HOME, the CLI's
 * config and cache directory), runs the commands a user runs to link an app, deploy it, follow the deployment and
 * make a review app, checks each step's exit code and output, and prints a PASS/FAIL line per step. Exit code: the
 * number of failed steps (0 when all pass). The CLI's own update check is turned off (DISABLE_UPDATE_CHECKER), and
 * HTTP(S)_PROXY point at a closed local port, so that nothing reaches the real network.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FAKE = join(ROOT, 'test/support/fake-scalingo.js');
const TOKEN = 'tk-us-test-0123456789abcdef';
const REPO = 'https://github.com/octo-org/octo-repo';
const DEPLOY_MS = 3000;

/**
 * @typedef {object} Outcome
 * @property {number | null} code
 * @property {NodeJS.Signals | null} signal
 * @property {string} output stdout and stderr, interleaved as they came.
 */

/**
 * @typedef {object} Step
 * @property {string} name
 * @property {string[]} args
 * @property {number | null} [exit] Expected exit code (default 0); null: not checked (a command stopped by the script).
 * @property {RegExp[]} expect Patterns the output must match.
 * @property {RegExp[]} [reject] Patterns it must not match.
 * @property {number} [timeoutMs]
 */

/**
 * Runs a command to its end (or its timeout), capturing its output.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env: NodeJS.ProcessEnv, cwd: string, timeoutMs?: number, stopWhen?: RegExp }} options `stopWhen`: send
 *   SIGTERM once the output matches (for a command that never ends by itself).
 * @returns {Promise<Outcome>}
 */
function run(command, args, options) {
  return new Promise((done) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    /** @param {Buffer} chunk */
    const collect = (chunk) => {
      output += chunk.toString('utf8');
      if (options.stopWhen?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => {
      output += `\n${String(error)}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, output });
    });
  });
}

/**
 * Starts the fake standalone and reads its URLs from its first line.
 * @param {string} optionsFile
 * @returns {Promise<{ urls: { authUrl: string, apiUrl: string }, stop: () => Promise<void>, log: () => string }>}
 */
function startFake(optionsFile) {
  return new Promise((ready, fail) => {
    const child = spawn(process.execPath, [FAKE, optionsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk.toString('utf8');
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) {
        ready({
          urls: JSON.parse(line),
          log: () => log,
          stop: () =>
            new Promise((stopped) => {
              child.once('close', () => stopped());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('close', (code) => fail(new Error(`the fake Scalingo exited (${code}): ${log}`)));
  });
}

/**
 * @param {Outcome} outcome
 * @param {Step} step
 * @returns {string[]} What is wrong.
 */
function check(outcome, step) {
  const problems = [];
  const exit = step.exit === undefined ? 0 : step.exit;
  if (exit !== null && outcome.code !== exit) problems.push(`exit ${outcome.code ?? outcome.signal}, expected ${exit}`);
  for (const pattern of step.expect) if (!pattern.test(outcome.output)) problems.push(`no ${pattern}`);
  for (const pattern of step.reject ?? []) if (pattern.test(outcome.output)) problems.push(`unexpected ${pattern}`);
  if (/panic:|nil pointer/.test(outcome.output)) problems.push('the CLI crashed');
  return problems;
}

/** @param {string} text */
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * @param {string} binary
 * @param {boolean} verbose Print every step's output, not only failed ones'.
 */
async function main(binary, verbose) {
  const home = mkdtempSync(join(tmpdir(), 'scalingo-cli-home-'));
  const optionsFile = join(home, 'fake-options.json');
  writeFileSync(
    optionsFile,
    JSON.stringify({
      apps: { 'my-app': {} },
      links: {},
      pulls: { 2: { head_branch: 'feature-2', title: 'A feature' } },
      // Deployments that move with time: the fake advertises its deployments stream for them.
      deployScript: { durationMs: DEPLOY_MS, final: 'success' },
    }),
  );
  const fake = await startFake(optionsFile);
  const { authUrl, apiUrl } = fake.urls;
  const closed = 'http://127.0.0.1:9';
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    SCALINGO_API_URL: apiUrl,
    SCALINGO_DB_URL: apiUrl,
    SCALINGO_AUTH_URL: authUrl,
    SCALINGO_API_TOKEN: TOKEN,
    DISABLE_UPDATE_CHECKER: 'true',
    HTTP_PROXY: closed,
    HTTPS_PROXY: closed,
    http_proxy: closed,
    https_proxy: closed,
  };
  const app = (/** @type {string} */ name, /** @type {string[]} */ rest) => ['--app', name, ...rest];

  /** @type {(Step & { background?: { stopWhen: RegExp } })[]} */
  const steps = [
    {
      name: 'login with the API token',
      args: ['login', '--api-token', TOKEN],
      expect: [/Hello test-user, nice to see you!/],
    },
    {
      name: 'integration-link: no link yet',
      args: app('my-app', ['integration-link']),
      expect: [/Your app 'my-app' has no integration link/],
    },
    {
      name: 'integration-link-create (the integration looked up by its type)',
      args: app('my-app', ['integration-link-create', '--branch', 'main', '--no-auto-deploy', REPO]),
      expect: [new RegExp(`Your app 'my-app' is linked to the repository ${escape(REPO)}`)],
      reject: [/Fail to create/],
    },
    {
      name: 'integration-link: shows the link',
      args: app('my-app', ['integration-link']),
      expect: [/Integration:.*GitHub \(int-github-1\)/, /Linker:.*test-user/, /Repository:.*octo-org\/octo-repo/],
    },
    {
      name: 'integration-link-update',
      args: app('my-app', [
        'integration-link-update',
        '--deploy-review-apps',
        '--destroy-on-close',
        '--hours-before-destroy-on-close',
        '1',
      ]),
      expect: [/Your app 'my-app' integration link has been updated/],
    },
    {
      name: 'integration-link: shows the update',
      args: app('my-app', ['integration-link']),
      expect: [/Automatic deployment of review apps:/, /Automatic destroy on close:.*1h/],
    },
    {
      name: 'integration-link-manual-deploy',
      args: app('my-app', ['integration-link-manual-deploy', 'main']),
      expect: [/Manual deployment triggered for app 'my-app' on branch 'main'/],
    },
    {
      name: 'deployment-follow (every deployment of the app, stopped after the next one succeeds)',
      args: app('my-app', ['deployment-follow']),
      exit: null,
      background: {
        stopWhen: /\[STATUS\] New status: starting → {1,2}success[\s\S]*\[STATUS\] New status: starting → {1,2}success/,
      },
      expect: [
        /\[NEW\] New deploy: [0-9a-f-]{36} from test-user/,
        /\[LOG\] <-- Start deployment of my-app -->/,
        /\[STATUS\] New status: starting → {1,2}success/,
      ],
      timeoutMs: 4 * DEPLOY_MS + 20_000,
    },
    {
      name: 'integration-link-manual-deploy --follow (queued behind the first, then followed to success)',
      args: app('my-app', ['integration-link-manual-deploy', '--follow', 'main']),
      expect: [
        /Manual deployment triggered/,
        /\[LOG\] <-- Start deployment of my-app -->/,
        /\[LOG\] -----> Build succeeded!/,
        /\[STATUS\] New status: .*success/,
      ],
      timeoutMs: 3 * DEPLOY_MS + 20_000,
    },
    {
      name: 'deployments',
      args: app('my-app', ['deployments']),
      expect: [/[0-9a-f-]{36} .*test-user.*success/, /Page: 1, Last Page: 1/],
    },
    {
      name: 'deployment-logs (the most recent deployment)',
      args: app('my-app', ['deployment-logs']),
      expect: [
        /Selected the most recent deployment/,
        /<-- Start deployment of my-app -->/,
        /<-- https:\/\/my-app\.osc-fr1\.scalingo\.io -->/,
      ],
    },
    {
      name: 'integration-link-manual-review-app (the pull request read first)',
      args: app('my-app', ['integration-link-manual-review-app', '2']),
      expect: [/Manual review app created for app 'my-app' with pull\/merge request id '2'/],
    },
    {
      name: 'integration-link of the review app: the head label as branch',
      args: app('my-app-pr2', ['integration-link']),
      expect: [/Repository:.*octo-org\/octo-repo/, /Automatic deployment:.*octo-org:feature-2/],
    },
    {
      name: 'integration-link-update of the review app: auto-deploy off',
      args: app('my-app-pr2', ['integration-link-update', '--no-auto-deploy']),
      expect: [/Your app 'my-app-pr2' integration link has been updated/],
    },
    {
      name: 'integration-link-manual-deploy of the label: refused (404 naming no resource)',
      args: app('my-app-pr2', ['integration-link-manual-deploy', 'octo-org:feature-2']),
      exit: 1,
      expect: [/branch 'octo-org:feature-2' not found in repository octo-org\/octo-repo/],
    },
    {
      name: "integration-link-manual-deploy --follow of the review app's bare branch",
      args: app('my-app-pr2', ['integration-link-manual-deploy', '--follow', 'feature-2']),
      expect: [
        /Manual deployment triggered for app 'my-app-pr2' on branch 'feature-2'/,
        /\[LOG\] <-- Start deployment of my-app-pr2 -->/,
        /\[STATUS\] New status: .*success/,
      ],
      timeoutMs: 2 * DEPLOY_MS + 20_000,
    },
    {
      name: 'review-apps',
      args: app('my-app', ['review-apps']),
      expect: [
        /my-app-pr2 +\| +2 +\| +octo-org:feature-2 +\|.*\| +success +\| +https:\/\/my-app-pr2\.osc-fr1\.scalingo\.io/,
      ],
    },
  ];

  let failed = 0;
  /** @type {Promise<Outcome> | undefined} */
  let background;
  /** @type {Step | undefined} */
  let backgroundStep;
  const report = (/** @type {Step} */ step, /** @type {Outcome} */ outcome) => {
    const problems = check(outcome, step);
    const index = steps.indexOf(step) + 1;
    if (problems.length === 0) {
      console.log(`PASS ${index}. ${step.name}`);
      if (verbose) console.log(outcome.output.replace(/^/gm, '    | '));
      return;
    }
    failed += 1;
    console.log(`FAIL ${index}. ${step.name}: ${problems.join('; ')}`);
    console.log(outcome.output.replace(/^/gm, '    | '));
  };
  try {
    for (const step of steps) {
      if ('background' in step && step.background) {
        background = run(binary, step.args, {
          env,
          cwd: home,
          timeoutMs: step.timeoutMs,
          stopWhen: step.background.stopWhen,
        });
        backgroundStep = step;
        // Let it connect before the next deployment starts.
        await new Promise((resolvePause) => setTimeout(resolvePause, 1500));
        continue;
      }
      const outcome = await run(binary, step.args, { env, cwd: home, timeoutMs: step.timeoutMs });
      // The command running in the background ends with the step after it: reported first, in the steps' order.
      if (background && backgroundStep) {
        report(backgroundStep, await background);
        background = undefined;
      }
      report(step, outcome);
    }
  } finally {
    await fake.stop();
    rmSync(home, { recursive: true, force: true });
  }
  console.log(`${steps.length - failed} of ${steps.length} steps passed`);
  return failed;
}

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const [binary] = args.filter((arg) => arg !== '--verbose');
if (!binary) {
  console.error('usage: node test/official-cli/official-cli.js [--verbose] /path/to/scalingo');
  process.exitCode = 2;
} else {
  main(resolve(binary), verbose).then(
    (failed) => {
      process.exitCode = failed;
    },
    (error) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
