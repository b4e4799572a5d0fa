// @ts-check
/**
 * @file Runs the built action (`node dist/index.js`) as GitHub's runner does: INPUT_* variables (hyphens kept),
 * GITHUB_* context, an event payload file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files read back afterwards.
 * Also runs the built CLI (`node dist/cli.js`) the way a GitLab job or a shell does. Used by the tests, the demo
 * and the benchmark, so plain JavaScript.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ACTION = join(ROOT, 'dist/index.js');
export const CLI = join(ROOT, 'dist/cli.js');
export const TOKEN = 'tk-us-test-0123456789abcdef';
/** The node that runs the action and the CLI: SCALINGO_TEST_NODE (e.g. Node 24, the action's runtime), else this one. */
export const NODE = process.env.SCALINGO_TEST_NODE || process.execPath;

/**
 * @typedef {object} RunResult
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {Record<string, string>} outputs Step outputs (GitHub) or dotenv variables (CLI).
 * @property {string} summary The job summary (GitHub).
 * @property {string} everything Every stream and file the run produced, for secret scans.
 * @property {number} exitedAt `Date.now()` when the process exited.
 */

/**
 * @typedef {object} SpawnOptions
 * @property {{ signal: NodeJS.Signals, when: RegExp }} [kill] Send `signal` once stdout matches `when`.
 * @property {number} [timeoutMs] SIGKILL after this long (default 60 s).
 * @property {string[]} [nodeArgs] Arguments for node before the script (e.g. `--import probe.mjs`).
 * @property {string} [cwd]
 * @property {(stream: 'stdout' | 'stderr', chunk: string, at: number) => void} [onOutput] Each chunk of output, with
 *   `Date.now()` when it arrived (to tell what was printed when).
 */

/**
 * @typedef {SpawnOptions & {
 *   inputs: Record<string, string>,
 *   event: string,
 *   payload: Record<string, unknown>,
 *   ref?: string,
 *   env?: Record<string, string>,
 * }} ActionRun
 */

/**
 * @typedef {SpawnOptions & { args: string[], env?: Record<string, string>, dotenv?: boolean }} CliRun
 */

/**
 * Parses GitHub's `name<<DELIMITER` output file format.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseOutputFile(text) {
  /** @type {Record<string, string>} */
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!m || !m[1]) continue;
    const delimiter = m[2];
    /** @type {string[]} */
    const value = [];
    while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] ?? '');
    out[m[1]] = value.join('\n');
  }
  return out;
}

/**
 * @param {string} script
 * @param {string[]} args
 * @param {Record<string, string>} env
 * @param {SpawnOptions} opts
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, exitedAt: number }>}
 */
export function spawnNode(script, args, env, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [...(opts.nodeArgs ?? []), script, ...args], {
      env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (/** @type {Buffer} */ d) => {
      opts.onOutput?.('stdout', d.toString(), Date.now());
      stdout += d.toString();
      if (opts.kill && !killed && opts.kill.when.test(stdout)) {
        killed = true;
        child.kill(opts.kill.signal);
      }
    });
    child.stderr.on('data', (/** @type {Buffer} */ d) => {
      opts.onOutput?.('stderr', d.toString(), Date.now());
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', () => {
      const exitedAt = Date.now();
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr, exitedAt });
      });
    });
  });
}

/**
 * A minimal environment: nothing of the machine's leaks in but PATH and HOME.
 * @returns {Record<string, string>}
 */
function baseEnv() {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
}

/**
 * @param {ActionRun} run
 * @returns {Promise<RunResult>}
 */
export async function runAction(run) {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-action-'));
  const eventPath = join(dir, 'event.json');
  const outputPath = join(dir, 'output');
  const summaryPath = join(dir, 'summary.md');
  writeFileSync(eventPath, JSON.stringify(run.payload));
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  const ref = run.ref ?? 'refs/heads/master';
  /** @type {Record<string, string>} */
  const env = {
    ...baseEnv(),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: run.event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: ref,
    GITHUB_REF_NAME: ref.replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    GITHUB_REPOSITORY: 'Codertocat/Hello-World',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    GITHUB_RUN_ID: '1234',
    GITHUB_ACTOR: 'Codertocat',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    RUNNER_TEMP: dir,
    ...run.env,
  };
  for (const [name, value] of Object.entries(run.inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  const { code, stdout, stderr, exitedAt } = await spawnNode(ACTION, [], env, run);
  const outputsText = readFileSync(outputPath, 'utf8');
  const summary = existsSync(summaryPath) ? readFileSync(summaryPath, 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(outputsText),
    summary,
    everything: [stdout, stderr, outputsText, summary].join('\n'),
    exitedAt,
  };
}

/**
 * Runs the CLI; unless `dotenv: false`, with `--dotenv` to a temporary file read back as outputs.
 * @param {CliRun} run
 * @returns {Promise<RunResult & { dotenv: string }>}
 */
export async function runCli(run) {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-cli-'));
  const dotenvPath = join(dir, 'scalingo.env');
  const env = { ...baseEnv(), ...run.env };
  const args = run.dotenv === false ? run.args : [...run.args, '--dotenv', dotenvPath];
  const { code, stdout, stderr, exitedAt } = await spawnNode(CLI, args, env, { cwd: dir, ...run });
  const dotenv = existsSync(dotenvPath) ? readFileSync(dotenvPath, 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  const outputs = Object.fromEntries(
    dotenv
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    code,
    stdout,
    stderr,
    outputs,
    summary: '',
    dotenv,
    everything: [stdout, stderr, dotenv].join('\n'),
    exitedAt,
  };
}

/**
 * The forms of the given credentials that show in a text: as is, and in a Basic header. The `::add-mask::`
 * commands are the runner's own (it consumes them and shows nothing).
 * @param {string} text
 * @param {string[]} secrets
 * @returns {string[]}
 */
export function leaks(text, secrets) {
  const visible = text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  const forms = secrets.flatMap((s) => [s, Buffer.from(`:${s}`).toString('base64')]);
  return forms.filter((f) => visible.includes(f));
}
