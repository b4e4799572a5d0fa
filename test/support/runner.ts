/**
 * Runs the built action (`node dist/index.js`) as GitHub's runner does: INPUT_* variables (hyphens kept),
 * GITHUB_* context, an event payload file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files read back afterwards.
 * Also runs the built CLI (`node dist/cli.js`) the way a GitLab job or a shell does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ACTION = join(ROOT, 'dist/index.js');
export const CLI = join(ROOT, 'dist/cli.js');
export const TOKEN = 'tk-us-test-0123456789abcdef';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Every file and stream the run produced, for secret scans. */
  everything: string;
}

export interface ActionRun {
  inputs: Record<string, string>;
  event: string;
  payload: Record<string, unknown>;
  ref?: string;
  env?: Record<string, string>;
  /** Kill the process with this signal once `killWhen` matches its stdout. */
  kill?: { signal: NodeJS.Signals; when: RegExp };
  timeoutMs?: number;
}

/** Parses GitHub's `name<<DELIMITER` output file format. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!m) continue;
    const [, name, delimiter] = m;
    const value: string[] = [];
    while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] ?? '');
    out[name!] = value.join('\n');
  }
  return out;
}

function spawnNode(script: string, args: string[], env: Record<string, string>, opts: Pick<ActionRun, 'kill' | 'timeoutMs'> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.kill && !killed && opts.kill.when.test(stdout)) {
        killed = true;
        child.kill(opts.kill.signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A minimal environment: nothing of the machine's leaks in but PATH and HOME. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
}

export async function runAction(run: ActionRun): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-action-'));
  const eventPath = join(dir, 'event.json');
  const outputPath = join(dir, 'output');
  const summaryPath = join(dir, 'summary.md');
  writeFileSync(eventPath, JSON.stringify(run.payload));
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  const env: Record<string, string> = {
    ...baseEnv(),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: run.event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: run.ref ?? 'refs/heads/master',
    GITHUB_REF_NAME: (run.ref ?? 'refs/heads/master').replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    GITHUB_REPOSITORY: 'Codertocat/Hello-World',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9/unused',
    GITHUB_RUN_ID: '1234',
    GITHUB_ACTOR: 'Codertocat',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    RUNNER_TEMP: dir,
    ...run.env,
  };
  // The runner passes every declared input, with action.yml's defaults for those not set in the workflow.
  for (const [name, value] of Object.entries(run.inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  const { code, stdout, stderr } = await spawnNode(ACTION, [], env, run);
  const outputsText = readFileSync(outputPath, 'utf8');
  const summary = existsSync(summaryPath) ? readFileSync(summaryPath, 'utf8') : '';
  return { code, stdout, stderr, outputs: parseOutputFile(outputsText), summary, everything: [stdout, stderr, outputsText, summary].join('\n') };
}

export interface CliRun {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  kill?: ActionRun['kill'];
  timeoutMs?: number;
}

export async function runCli(run: CliRun): Promise<RunResult & { dotenv: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-cli-'));
  const dotenvPath = join(dir, 'scalingo.env');
  const env = { ...baseEnv(), ...run.env };
  const { code, stdout, stderr } = await spawnNode(CLI, [...run.args, '--dotenv', dotenvPath], env, run);
  const dotenv = existsSync(dotenvPath) ? readFileSync(dotenvPath, 'utf8') : '';
  const outputs = Object.fromEntries(dotenv.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { code, stdout, stderr, outputs, summary: '', dotenv, everything: [stdout, stderr, dotenv].join('\n') };
}

/** Every form a credential could leak in: as is, and in the Basic header. The `::add-mask::` commands are the runner's. */
export function leaks(text: string, secrets: string[]): string[] {
  const visible = text.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
  const forms = secrets.flatMap((s) => [s, Buffer.from(`:${s}`).toString('base64')]);
  return forms.filter((f) => visible.includes(f));
}
