/** The command line's arguments: flags in, usage errors out, and the help that lists them. */
import { inputSpec, type InputSpec } from '../../core/inputs.js';
import { VERSION } from '../../version.js';
import { DOTENV_KEYS, GITLAB_DOTENV } from './dotenv.js';
import { FLAGS } from './names.js';

/** A command line that cannot be read: exit status 2. */
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
    if (!arg.startsWith('--'))
      throw new UsageError(
        `unexpected argument at position ${i + 1} (${arg.length} characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)`,
      );
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === 'api-token' || name === 'github-token') {
      throw new UsageError(
        `--${name} is not a flag: a token on the command line shows in process lists and shell history. Set the SCALINGO_API_TOKEN environment variable.`,
      );
    }
    if (name === 'no-dotenv') {
      parsed.dotenv = false;
      continue;
    }
    if (name === 'dotenv') {
      value ??= argv[++i];
      if (!value) throw new UsageError('--dotenv needs a file name');
      // `--dotenv=false` means no dotenv file, not a file named `false`.
      parsed.dotenv = ['false', 'False', 'FALSE'].includes(value) ? false : value;
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
    // --app may be repeated: the apps add up (as `--app a,b` does).
    const earlier = name === 'app' ? parsed.flags.get(name) : undefined;
    parsed.flags.set(name, earlier && value ? `${earlier},${value}` : (value ?? ''));
  }
  return parsed;
}

export function helpText(): string {
  const lines = [
    `scalingo-deploy ${VERSION}: link a Scalingo app to its repository, deploy it or its review apps, follow to the end.`,
    '',
    'Usage: scalingo-deploy [--command auto|link|deploy|review-app|unlink] [--app NAME[,NAME...]]... [flags]',
    '',
    'Several apps: repeat --app or separate names with commas; no app: the apps linked to this repository that follow the branch.',
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
    `  --dotenv FILE, --no-dotenv (or --dotenv=false)`,
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
