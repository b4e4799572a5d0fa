/**
 * The command line, and through it the GitLab CI component: flags and SCALINGO_* variables in, a readable report
 * and a dotenv file out, exit status 1 exactly when the GitHub step would fail (2 for a usage error).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { INPUTS, inputSpec, type InputSpec } from '../core/inputs.js';
import { describeSettings, parseSettings, type Settings } from '../core/settings.js';
import { InputError } from '../core/errors.js';
import { reportOutputs, run, type RunReport } from '../core/run.js';
import { renderText } from '../core/report.js';
import type { Logger } from '../core/log.js';
import type { CiContext } from '../core/event.js';
import { gitlabContext } from './gitlab-event.js';
import { githubContext, type GitHubPayload } from './github-event.js';
import { cancellation } from './signals.js';
import { lowerPeakMemory } from './runtime.js';
import { VERSION } from '../version.js';

type Env = Record<string, string | undefined>;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

/** The inputs that are flags: every CLI input but secrets, which only come from the environment. */
const FLAGS: readonly InputSpec[] = INPUTS.filter((i) => i.platforms.includes('cli') && i.type !== 'secret');

/** Where the dotenv report goes inside GitLab when `--dotenv` is not given. */
export const GITLAB_DOTENV = 'scalingo.env';

export const DOTENV_KEYS = {
  SCALINGO_APP: 'app',
  SCALINGO_APP_URL: 'app-url',
  SCALINGO_DEPLOYMENT_ID: 'deployment-id',
  SCALINGO_DEPLOYMENT_STATUS: 'deployment-status',
  SCALINGO_REVIEW_APP: 'review-app',
  SCALINGO_LINK: 'link',
  SCALINGO_TIMED_OUT: 'timed-out',
  SCALINGO_DASHBOARD_URL: 'dashboard-url',
} as const;

export class UsageError extends Error {}

export interface Parsed {
  flags: Map<string, string>;
  dotenv?: string | false;
  help: boolean;
  version: boolean;
}

export function parseArgs(argv: readonly string[]): Parsed {
  const parsed: Parsed = { flags: new Map(), help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      parsed.help = true;
      continue;
    }
    if (arg === '--version' || arg === '-v') {
      parsed.version = true;
      continue;
    }
    // Not echoed: a stray argument may be a pasted token.
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument at position ${i + 1} (${arg.length} characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)`);
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === 'api-token' || name === 'github-token') {
      throw new UsageError(`--${name} is not a flag: a token on the command line shows in process lists and shell history. Set the SCALINGO_API_TOKEN environment variable.`);
    }
    if (name === 'no-dotenv') {
      parsed.dotenv = false;
      continue;
    }
    if (name === 'dotenv') {
      value ??= argv[++i];
      if (!value) throw new UsageError('--dotenv needs a file name');
      parsed.dotenv = value;
      continue;
    }
    let spec = FLAGS.find((f) => f.name === name);
    if (!spec && name.startsWith('no-')) {
      const positive = FLAGS.find((f) => f.name === name.slice(3) && f.type === 'boolean');
      if (positive && value === undefined) {
        spec = positive;
        name = positive.name;
        value = 'false';
      }
    }
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.type === 'boolean' && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw new UsageError(`--${name} needs a value`);
      else value = argv[++i];
    }
    parsed.flags.set(name, value ?? '');
  }
  return parsed;
}

export function helpText(): string {
  const lines = [
    `scalingo-deploy ${VERSION}: link a Scalingo app to its repository, deploy it or its review apps, follow to the end.`,
    '',
    'Usage: scalingo-deploy [--command auto|link|deploy|review-app|unlink] [--app NAME] [flags]',
    '',
    'Inside GitLab CI (or GitHub Actions) the event decides what to do; elsewhere set --command.',
    'The token is read from SCALINGO_API_TOKEN only, never from a flag.',
    '',
    'Flags (each also read from the environment variable on its right):',
  ];
  for (const f of FLAGS) {
    const def = f.default !== undefined ? ` (default: ${f.default})` : '';
    lines.push(`  ${flagLabel(f)}    env ${f.env}${def}`, `      ${plain(f.description)}`);
  }
  lines.push(
    `  --dotenv FILE, --no-dotenv`,
    `      Write ${Object.keys(DOTENV_KEYS).join(', ')} to FILE (default inside GitLab: ${GITLAB_DOTENV}).`,
    '  --help, --version',
    '',
    `Environment: SCALINGO_API_TOKEN (required), ${inputSpec('region').env}, ${inputSpec('api-url').env}, ${inputSpec('auth-url').env}; SCALINGO_DEBUG=true prints debug lines.`,
    'Exit status: 0 success or nothing to do, 1 the run failed (deployment failed, timed out, API error), 2 a usage error.',
  );
  return lines.join('\n');
}

function flagLabel(f: InputSpec): string {
  if (f.type === 'boolean') return `--[no-]${f.name}`;
  return `--${f.name} ${f.type === 'enum' ? (f.options ?? []).join('|') : f.type === 'string' ? 'VALUE' : 'N'}`;
}

function plain(markdown: string): string {
  return markdown.replace(/`/g, '');
}

function detectContext(env: Env): CiContext {
  if (env.GITLAB_CI === 'true') return gitlabContext(env);
  if (env.GITHUB_ACTIONS === 'true') {
    let payload: GitHubPayload = {};
    try {
      if (env.GITHUB_EVENT_PATH) payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as GitHubPayload;
    } catch {
      // no payload: the event name alone decides
    }
    return githubContext(env, payload);
  }
  return { platform: 'local', eventName: '', event: { kind: 'none' } };
}

/** Log lines for a terminal or a GitLab job log (with its collapsible sections). */
export function textLogger(io: Io, env: Env): Logger {
  const gitlab = env.GITLAB_CI === 'true';
  const debug = ['true', '1'].includes(env.SCALINGO_DEBUG ?? '') || env.CI_DEBUG_TRACE === 'true' || env.RUNNER_DEBUG === '1';
  let section = 0;
  return {
    info: (line) => io.out(line),
    warning: (line) => io.out(gitlab ? `\x1b[33;1mWARNING: ${line}\x1b[0m` : `warning: ${line}`),
    debug: (line) => {
      if (debug) io.out(`debug: ${line}`);
    },
    group: async (title, fn) => {
      const id = `scalingo_${++section}`;
      const ts = (): number => Math.floor(Date.now() / 1000);
      io.out(gitlab ? `\x1b[0Ksection_start:${ts()}:${id}[collapsed=false]\r\x1b[0K\x1b[36;1m${title}\x1b[0m` : `== ${title}`);
      try {
        return await fn();
      } finally {
        if (gitlab) io.out(`\x1b[0Ksection_end:${ts()}:${id}\r\x1b[0K`);
      }
    },
  };
}

export function dotenv(report: RunReport): string {
  const outputs = reportOutputs(report);
  return Object.entries(DOTENV_KEYS)
    .map(([key, output]) => `${key}=${outputs[output].replace(/[\r\n]/g, ' ')}`)
    .join('\n') + '\n';
}

export interface CliInvocation {
  settings: Settings;
  ctx: CiContext;
  dotenv: string | false;
}

/**
 * Reads flags, SCALINGO_* variables and the CI's own variables into the settings object the action uses too.
 * Throws a UsageError or an InputError before anything is sent.
 */
export function resolveCli(parsed: Parsed, env: Env): CliInvocation {
  const raw = (name: string): string | undefined => {
    if (name === 'api-token') return env.SCALINGO_API_TOKEN;
    // An empty flag means "not given", as an empty input does: the variable still applies.
    return parsed.flags.get(name) || env[inputSpec(name).env];
  };
  const ctx = detectContext(env);
  const settings = parseSettings(raw, ctx.repositoryUrl ? { source: ctx.repositoryUrl } : {});
  if (ctx.platform === 'local' && settings.command === 'auto') {
    throw new InputError('command', 'auto', 'outside a CI run there is no event to decide from: set --command link, deploy, review-app or unlink');
  }
  return { settings, ctx, dotenv: parsed.dotenv ?? (env.GITLAB_CI === 'true' ? GITLAB_DOTENV : false) };
}

export async function runCli(argv: readonly string[], env: Env, io: Io = defaultIo): Promise<number> {
  let invocation: CliInvocation;
  try {
    const parsed = parseArgs(argv);
    if (parsed.help) {
      io.out(helpText());
      return 0;
    }
    if (parsed.version) {
      io.out(VERSION);
      return 0;
    }
    invocation = resolveCli(parsed, env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof InputError) {
      const token = env.SCALINGO_API_TOKEN;
      io.err(`scalingo-deploy: ${token ? err.message.split(token).join('***') : err.message}`);
      return 2;
    }
    throw err;
  }
  const { settings, ctx } = invocation;

  lowerPeakMemory();
  const log = textLogger(io, env);
  log.debug(`settings: ${JSON.stringify(describeSettings(settings))}`);
  const cancel = cancellation();
  let report: RunReport;
  try {
    report = await run(settings, ctx, { log, userAgent: `scalingo-deploy/${VERSION} (${ctx.platform === 'local' ? 'cli' : ctx.platform})` , signal: cancel.signal });
  } finally {
    cancel.dispose();
  }

  io.out('');
  io.out(renderText(report));
  const dotenvFile = invocation.dotenv;
  if (dotenvFile) {
    try {
      writeFileSync(dotenvFile, dotenv(report));
    } catch (err) {
      io.err(`scalingo-deploy: dotenv report not written to ${dotenvFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!report.ok) {
    io.err(`scalingo-deploy: ${report.message}`);
    return 1;
  }
  return 0;
}
