#!/usr/bin/env node
// @ts-check
/**
 * @file The live suite (`npm run test:live`): the product's requests sent to the real Scalingo with a maintainer's
 * token, every answer recorded (redacted) under test/contract/recorded/, its shape compared with the documented
 * answers (test/contract/fixtures/) and with the project's fake, and a table of the open questions it settles.
 *
 * It runs only when SCALINGO_API_TOKEN and SCALINGO_LIVE_APP (a scratch app linked to a scratch repository) are set;
 * otherwise it says so and exits 0. Read-only unless SCALINGO_LIVE_WRITE=1. See the README section "How we check
 * against the real Scalingo" and `configFrom()` below for every variable.
 *
 * Exit status: 0 when skipped or when Scalingo answered as the fake does (but for the differences listed in
 * test/contract/differences.js); 1 when Scalingo answered differently from the fake, or a step failed; 2 on a bad
 * setting. The API token and the bearer are never printed nor written.
 */
import { appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { answerQuestions, questionsMarkdown, questionsTable } from './questions.js';
import { LiveRun } from './live-run.js';
import { compareShapes, writeRecords } from './report.js';
import { observeFrames, rateLimitProbe, readOnly, streamProbe, writes } from './steps.js';
import { field, text } from './util.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_RECORD_DIR = join(ROOT, 'test/contract/recorded');

/**
 * @typedef {object} LiveConfig
 * @property {string} token
 * @property {string} app
 * @property {string} region
 * @property {string} apiUrl
 * @property {string} authUrl
 * @property {boolean} write
 * @property {number | undefined} pr
 * @property {string | undefined} branch The app's branch to deploy (default: its link's).
 * @property {string | undefined} prBranch The pull request's head branch (default: read from Scalingo).
 * @property {string} recordDir
 * @property {number} streamSeconds
 * @property {number} deployTimeoutSeconds
 * @property {number} pollSeconds
 * @property {number} reviewAppWaitSeconds
 * @property {number} rateLimitRequests 0: no rate-limit probe.
 */

/**
 * A URL as the variables give it: the docs write a bare host, the CLI a URL.
 * @param {string} value
 */
const withScheme = (value) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`).replace(/\/+$/, '');

/**
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ skip: string } | { error: string } | { config: LiveConfig }}
 */
export function configFrom(env) {
  const token = env.SCALINGO_API_TOKEN?.trim() ?? '';
  const app = env.SCALINGO_LIVE_APP?.trim() ?? '';
  const missing = [!token && 'SCALINGO_API_TOKEN', !app && 'SCALINGO_LIVE_APP'].filter(Boolean);
  if (missing.length > 0) {
    return {
      skip: `Live suite skipped: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. It needs an API token (SCALINGO_API_TOKEN) and a scratch app linked to a scratch repository (SCALINGO_LIVE_APP); nothing was sent to Scalingo.`,
    };
  }
  /** @param {string} name @param {number} fallback */
  const number = (name, fallback) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    return Number.isFinite(value) && value >= 0 ? value : NaN;
  };
  const region = env.SCALINGO_REGION?.trim() || 'osc-fr1';
  const prRaw = env.SCALINGO_LIVE_PR?.trim();
  const pr = prRaw ? Number(prRaw) : undefined;
  const write = ['1', 'true', 'yes'].includes((env.SCALINGO_LIVE_WRITE ?? '').trim().toLowerCase());
  /** @type {LiveConfig} */
  const config = {
    token,
    app,
    region,
    apiUrl: withScheme(env.SCALINGO_API_URL?.trim() || `https://api.${region}.scalingo.com`),
    authUrl: withScheme(env.SCALINGO_AUTH_URL?.trim() || 'https://auth.scalingo.com'),
    write,
    pr,
    branch: env.SCALINGO_LIVE_BRANCH?.trim() || undefined,
    prBranch: env.SCALINGO_LIVE_PR_BRANCH?.trim() || undefined,
    recordDir: resolve(env.SCALINGO_LIVE_RECORD_DIR?.trim() || DEFAULT_RECORD_DIR),
    streamSeconds: number('SCALINGO_LIVE_STREAM_SECONDS', 20),
    deployTimeoutSeconds: number('SCALINGO_LIVE_DEPLOY_TIMEOUT_SECONDS', 900),
    pollSeconds: number('SCALINGO_LIVE_POLL_SECONDS', 15),
    reviewAppWaitSeconds: number('SCALINGO_LIVE_REVIEW_APP_WAIT_SECONDS', 60),
    rateLimitRequests: number('SCALINGO_LIVE_RATE_LIMIT_REQUESTS', 100),
  };
  const bad = Object.entries(config)
    .filter(([, v]) => typeof v === 'number' && Number.isNaN(v))
    .map(([k]) => k);
  if (bad.length > 0) return { error: `invalid number in the settings: ${bad.join(', ')}` };
  if (pr !== undefined && !(Number.isSafeInteger(pr) && pr > 0))
    return { error: 'SCALINGO_LIVE_PR must be the number of an open pull request of the scratch repository' };
  if (pr !== undefined && !write)
    return { error: 'SCALINGO_LIVE_PR creates a review app: it needs SCALINGO_LIVE_WRITE=1' };
  return { config };
}

/**
 * Runs the live suite with these variables; returns the exit status.
 * @param {NodeJS.ProcessEnv} env
 * @param {(line: string) => void} [print]
 * @returns {Promise<number>}
 */
export async function runLive(env, print = (line) => process.stdout.write(`${line}\n`)) {
  const summary = env.GITHUB_STEP_SUMMARY;
  const parsed = configFrom(env);
  if ('skip' in parsed) {
    print(parsed.skip);
    if (summary)
      appendFileSync(
        summary,
        `## Live check against Scalingo\n\nNothing was done. ${parsed.skip.replace(/^Live suite skipped: /, '')} Set the secret SCALINGO_API_TOKEN and the variable SCALINGO_LIVE_APP in the environment of this workflow to run it.\n`,
      );
    return 0;
  }
  if ('error' in parsed) {
    print(`Live suite not run: ${parsed.error}`);
    return 2;
  }
  const run = new LiveRun(parsed.config, print);
  const { config } = run;
  run.say(
    `Live suite against ${config.apiUrl} (auth ${config.authUrl}), app ${config.app}, ${config.write ? `WRITE mode${config.pr !== undefined ? `, pull request #${config.pr}` : ''}` : 'read-only'}`,
  );
  try {
    await readOnly(run);
    const url = text(
      field(field(run.records.find((r) => r.label === 'app-show')?.body, 'app'), 'links'),
      'deployments_stream',
    );
    const stream = url ? await streamProbe(run, url) : undefined;
    if (!url) run.fail('the app gives no links.deployments_stream');
    try {
      if (config.write) await writes(run, stream);
    } finally {
      await stream?.session.close();
    }
    observeFrames(run);
    await rateLimitProbe(run);
  } catch (error) {
    run.fail(error instanceof Error ? error.message : String(error));
  }
  observeFrames(run);

  run.say('Comparing the shapes with the documented answers and with the fake');
  /** @type {Awaited<ReturnType<typeof compareShapes>>} */
  let shapes = { againstDocs: [], listed: [], unlisted: [] };
  try {
    shapes = await compareShapes(run);
  } catch (error) {
    run.fail(`shape comparison: ${error instanceof Error ? error.message : String(error)}`);
  }
  const questions = answerQuestions(run.obs);
  const files = writeRecords(run, { questions, shapes });

  run.say('');
  run.say(
    `Where Scalingo's answers differ from the documented ones (${shapes.againstDocs.length}; the docs are behind, nothing to fix here):`,
  );
  for (const line of shapes.againstDocs) run.say(`  ${line}`);
  run.say(`Where the fake differs from Scalingo as test/contract/differences.js says (${shapes.listed.length})`);
  run.say(
    `Where the fake differs from Scalingo and test/contract/differences.js does not say so (${shapes.unlisted.length}):`,
  );
  for (const line of shapes.unlisted) run.say(`  ${line}`);
  run.say('');
  run.say('Open questions');
  for (const line of questionsTable(questions).split('\n')) run.say(line);
  run.say('');
  run.say(`Recorded ${files} files, redacted, in ${config.recordDir}`);
  if (run.failures.length > 0) run.say(`${run.failures.length} step(s) failed: ${run.failures.join('; ')}`);
  if (summary) {
    appendFileSync(
      summary,
      run.redactor.text(
        [
          `## Live check against Scalingo (${run.obs.mode})`,
          '',
          questionsMarkdown(questions),
          '',
          `Differences between Scalingo and the fake not listed in test/contract/differences.js: ${shapes.unlisted.length}${shapes.unlisted.length ? `\n\n${shapes.unlisted.map((l) => `- ${l}`).join('\n')}` : ''}`,
          run.failures.length ? `\nFailed steps: ${run.failures.join('; ')}` : '',
          '',
        ].join('\n'),
      ),
    );
  }
  return run.failures.length > 0 || shapes.unlisted.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runLive(process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stdout.write(`Live suite crashed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
