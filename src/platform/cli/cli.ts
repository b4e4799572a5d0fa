/**
 * The command line, and through it the GitLab CI component: flags and SCALINGO_* variables in, a readable report
 * and a dotenv file out, exit status 1 exactly when the GitHub step would fail (2 for a usage error).
 */
import { writeFileSync } from 'node:fs';
import { inputSpec } from '../../core/inputs.js';
import { describeSettings, parseSettings, type Settings } from '../../core/settings.js';
import { InputError } from '../../core/errors.js';
import type { InputNames } from '../../core/inputs.js';
import { renderText } from '../../core/render.js';
import type { CiContext } from '../../core/event.js';
import { detectContext } from '../detect.js';
import { launch } from '../launch.js';
import { VERSION } from '../../version.js';
import { helpText, parseArgs, UsageError, type Parsed } from './args.js';
import { dotenv, GITLAB_DOTENV } from './dotenv.js';
import { defaultIo, textLogger, type Io } from './logger.js';
import { cliNames } from './names.js';

type Env = Record<string, string | undefined>;

export interface CliInvocation {
  settings: Settings;
  /** The CI's context, in the command line's words (flags, not the action's inputs). */
  ctx: CiContext;
  dotenv: string | false;
}

/** An error about the command line's inputs, in its words; the token, should it be pasted anywhere, masked. */
class CliInputError extends Error {
  constructor(err: InputError, names: InputNames) {
    super(err.describe(names));
  }
}

/**
 * Reads flags, SCALINGO_* variables and the CI's own variables into the settings object the action uses too.
 * Throws a UsageError, or an Error that names the flag or variable at fault, before anything is sent.
 */
export function resolveCli(parsed: Parsed, env: Env): CliInvocation {
  const raw = (name: string): string | undefined => {
    if (name === 'api-token') return env.SCALINGO_API_TOKEN;
    // An empty flag means "not given", as an empty input does: the variable still applies.
    return parsed.flags.get(name) || env[inputSpec(name).env];
  };
  const names = cliNames(parsed.flags, env);
  const detected = detectContext(env);
  const ctx: CiContext = { ...detected, terms: { ...detected.terms, ...names } };
  try {
    const settings = parseSettings(raw, ctx.repositoryUrl ? { source: ctx.repositoryUrl } : {});
    if (ctx.event.kind === 'none' && settings.command === 'auto') {
      throw new InputError(
        'command',
        'auto',
        'outside a CI run there is no event to decide from: set --command link, deploy, review-app or unlink',
      );
    }
    return { settings, ctx, dotenv: parsed.dotenv ?? (env.GITLAB_CI === 'true' ? GITLAB_DOTENV : false) };
  } catch (err) {
    throw err instanceof InputError ? new CliInputError(err, names) : err;
  }
}

export async function runCli(argv: readonly string[], env: Env, io: Io = defaultIo): Promise<number> {
  const token = env.SCALINGO_API_TOKEN;
  const say = (message: string): void =>
    io.err(`scalingo-deploy: ${token ? message.split(token).join('***') : message}`);
  try {
    return await runCommand(argv, env, io, say);
  } catch (err) {
    // One line, never a stack: what reaches here is a bug or a broken environment, not the user's settings.
    say(`unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function runCommand(argv: readonly string[], env: Env, io: Io, say: (message: string) => void): Promise<number> {
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
    if (err instanceof UsageError || err instanceof CliInputError) {
      say(err.message);
      return 2;
    }
    throw err;
  }
  const { settings, ctx } = invocation;

  const log = textLogger(io, env);
  log.debug(`settings: ${JSON.stringify(describeSettings(settings))}`);
  const report = await launch(settings, ctx, {
    log,
    userAgent: `scalingo-deploy/${VERSION} (${ctx.platform === 'local' ? 'cli' : ctx.platform})`,
  });

  io.out('');
  // A failure's message is printed once, on stderr, below the report.
  io.out(renderText(report, { message: report.ok }));
  const dotenvFile = invocation.dotenv;
  if (dotenvFile) {
    try {
      writeFileSync(dotenvFile, dotenv(report));
    } catch (err) {
      say(`dotenv report not written to ${dotenvFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!report.ok) {
    say(report.message);
    return 1;
  }
  return 0;
}
