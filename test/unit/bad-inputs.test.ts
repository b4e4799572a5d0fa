/**
 * Bad input, read without running anything: the settings parser and the command line's reading of flags and
 * SCALINGO_* variables refuse it in one line that names the input, the value (credentials hidden) and what is
 * allowed. The end-to-end suite keeps a few of these through the built bundle, to prove the edges' wiring (exit
 * status, one error line, no request).
 */
import { describe, expect, it } from 'vitest';
import { parseBoolean, parseSettings } from '../../src/core/settings.js';
import { parseArgs, UsageError } from '../../src/platform/cli/args.js';
import { runCli } from '../../src/platform/cli/cli.js';

const TOKEN = 'tk-us-test-0123456789abcdef';

/** [input, value, what the message must say after naming them]. Each is read as an action input and by the CLI. */
export const BAD: [string, string, string][] = [
  ['auto-deploy', 'yes', 'allowed: true or false'],
  ['review-apps', 'on', 'allowed: true or false'],
  ['review-apps-from-forks', 'enabled', 'allowed: true or false'],
  ['delete-on-close', '1', 'allowed: true or false'],
  ['delete-stale', 'no', 'allowed: true or false'],
  ['wait', 'Yes', 'allowed: true or false'],
  ['dry-run', 'tRUE', 'allowed: true or false'],
  ['fail-without-token', 'maybe', 'allowed: true or false'],
  ['hours-before-delete-stale', '-1', 'allowed: a whole number of 0 or more'],
  ['hours-before-delete-stale', '1.5', 'allowed: a whole number of 0 or more'],
  ['hours-before-delete-on-close', '24h', 'allowed: a whole number of 0 or more'],
  ['command', 'deploy-all', 'allowed: auto, link, deploy, review-app, unlink'],
  ['timeout-minutes', '0', 'allowed: a number of minutes greater than 0 and at most 360'],
  ['timeout-minutes', '-5', 'allowed: a number of minutes greater than 0'],
  ['timeout-minutes', '1000', 'at most 360'],
  ['poll-interval-seconds', '0', 'allowed: a number of seconds greater than 0'],
  ['poll-interval-seconds', 'fast', 'allowed: a number of seconds'],
  ['request-timeout-seconds', '1e3', 'allowed: a number of seconds'],
  ['pull-request', 'abc', 'allowed: a whole number of 1 or more'],
  ['pull-request', '0', 'allowed: a whole number of 1 or more'],
  ['pull-request', '#42', 'allowed: a whole number of 1 or more'],
  ['app', 'a/b', 'allowed: an app name of lower-case letters, digits and hyphens'],
  ['app', '../other-app', 'allowed: an app name'],
  ['app', 'my-app/scm_repo_link', 'allowed: an app name'],
  ['app', 'My-App', 'allowed: an app name'],
  ['app', 'my_app', 'allowed: an app name'],
  ['app', 'my-app?x=1', 'allowed: an app name'],
  ['source', 'git@github.com:octo-org/octo-repo.git', "allowed: the repository's http(s) web URL with no credentials"],
  ['source', 'https://user:secret@github.com/octo-org/octo-repo', 'with no credentials'],
  ['source', 'bot:tok@github.com/octo-org/octo-repo', 'with no credentials'],
  ['source', 'ftp://github.com/octo-org/octo-repo', "allowed: the repository's http(s) web URL"],
  ['source', 'https://github.com/octo-org', "allowed: the repository's http(s) web URL"],
  ['source', 'https://github.com/octo-org/../other', "allowed: the repository's http(s) web URL"],
  ['api-url', 'ftp://api.example.com', 'allowed: an https URL'],
  ['api-url', 'http://api.example.com', 'http only on localhost'],
  ['api-url', 'https://api.example.com/?region=x', 'no credentials, query or fragment'],
  ['auth-url', 'https://user:pw@auth.example.com', 'no credentials, query or fragment'],
  ['branch', 'feature..x', 'allowed: a git branch name'],
  ['branch', '-rf', 'allowed: a git branch name'],
  ['branch', 'a b', 'allowed: a git branch name'],
  ['branch', 'x:y', 'allowed: a git branch name'],
  ['region', 'Paris 1', 'allowed: a Scalingo region such as osc-fr1'],
  ['region', '../x', 'allowed: a Scalingo region'],
  ['scm-integration', '../../etc', 'allowed: the id (auth_integration_uuid) of one of your SCM integrations'],
];

/** How an error shows a value: a URL's credentials are replaced by ***. */
const shown = (input: string, value: string): string =>
  /^source$|-url$/.test(input) ? value.replace(/^([a-z]+:\/\/)?.*@/, '$1***@') : value;

/** The error parseSettings throws for these inputs (with a valid app and token unless given). */
function settingsError(inputs: Record<string, string>): Error {
  const all: Record<string, string> = { app: 'my-app', 'api-token': TOKEN, ...inputs };
  try {
    parseSettings((name) => all[name]);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`accepted: ${JSON.stringify(inputs)}`);
}

describe('action inputs (parseSettings)', () => {
  it.each(BAD)('%s: %s', (input, value, allowed) => {
    const message = settingsError({ [input]: value }).message;
    expect(message.startsWith(`Input \`${input}\` has value ${JSON.stringify(shown(input, value))}: `)).toBe(true);
    expect(message).toContain(allowed);
    expect(message).not.toContain('\n');
  });

  it.each([
    ['comment', 'sure'],
    ['github-deployment', '2'],
  ])('the GitHub-only flag %s: %s', (input, value) => {
    expect(() => parseBoolean(input, value)).toThrow(
      `Input \`${input}\` has value ${JSON.stringify(value)}: allowed: true or false (true, True, TRUE, false, False, FALSE).`,
    );
  });

  it.each([
    [
      'https://deploy-bot:s3cr3t-pw@github.com/octo-org/octo-repo',
      ['s3cr3t-pw', 'deploy-bot'],
      'https://***@github.com/octo-org/octo-repo',
    ],
    ['https://bot:pa/ss@github.com/octo-org/octo-repo', ['pa/ss'], 'https://***@github.com/octo-org/octo-repo'],
    ['https://bot:pa@ss@github.com/octo-org/octo-repo', ['pa@ss'], 'https://***@github.com/octo-org/octo-repo'],
    ['bot:pa ss@github.com/octo-org/octo-repo', ['pa ss'], '***@github.com/octo-org/octo-repo'],
  ])('a source with credentials is refused without showing them: %s', (source, hidden, as) => {
    const message = settingsError({ source }).message;
    expect(message.startsWith(`Input \`source\` has value ${JSON.stringify(as)}: `)).toBe(true);
    for (const part of hidden) expect(message).not.toContain(part);
  });

  it('a missing app says where to set it', () => {
    expect(settingsError({ app: '' }).message).toBe(
      'Input `app` is missing: required: the Scalingo app name (input `app` or SCALINGO_APP).',
    );
  });
});

/** Runs the command line in-process: only its reading of arguments, which ends before anything is sent. */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  // No token and a closed local port: a case that were wrongly accepted would fail on the token, never reach out.
  const code = await runCli(
    args,
    { SCALINGO_API_URL: 'http://127.0.0.1:9', SCALINGO_AUTH_URL: 'http://127.0.0.1:9', ...env },
    { out: (t) => out.push(t), err: (t) => err.push(t) },
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('command line: flags and SCALINGO_* variables', () => {
  it.each(BAD)('--%s %s', async (input, value, allowed) => {
    const r = await cli(['--app', 'my-app', '--command', 'deploy', `--${input}=${value}`]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    // The command line names the flag the user typed, not the action's input.
    expect(r.stderr.startsWith(`scalingo-deploy: --${input} has value ${JSON.stringify(shown(input, value))}: `)).toBe(
      true,
    );
    expect(r.stderr).toContain(allowed);
    expect(r.stdout).toBe('');
  });

  it.each(BAD)('SCALINGO_%s=%s', async (input, value, allowed) => {
    const variable = `SCALINGO_${input.toUpperCase().replace(/-/g, '_')}`;
    // A flag wins over its variable: the app comes from SCALINGO_APP alone when it is the input under test.
    const r = await cli(input === 'app' ? [] : ['--app', 'my-app'], { SCALINGO_COMMAND: 'deploy', [variable]: value });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    // ... and the variable, when the value came from it.
    expect(r.stderr.startsWith(`scalingo-deploy: ${variable} has value ${JSON.stringify(shown(input, value))}: `)).toBe(
      true,
    );
    expect(r.stderr).toContain(allowed);
  });

  it.each([
    [['--bogus', 'x'], 'unknown flag --bogus (see --help)'],
    [
      ['--api-token', 'tk-us-xyz'],
      '--api-token is not a flag: a token on the command line shows in process lists and shell history. Set the SCALINGO_API_TOKEN environment variable.',
    ],
    [
      ['--github-token=x'],
      '--github-token is not a flag: a token on the command line shows in process lists and shell history. Set the SCALINGO_API_TOKEN environment variable.',
    ],
    [['--app'], '--app needs a value'],
    [['--dotenv'], '--dotenv needs a file name'],
    [['--no-app'], 'unknown flag --no-app (see --help)'],
    [
      ['deploy'],
      'unexpected argument at position 1 (6 characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)',
    ],
    [
      ['--app', 'my-app', 'tk-us-pasted-by-mistake'],
      'unexpected argument at position 3 (23 characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)',
    ],
  ])('%j is a usage error that echoes no stray value', async (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`scalingo-deploy: ${message}`);
    expect(r.stderr).not.toContain('tk-us-');
  });

  it('a token pasted as a flag value is not echoed', async () => {
    const r = await cli(['--app', 'my-app', '--command', 'review-app', '--pull-request', TOKEN], {
      SCALINGO_API_TOKEN: TOKEN,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"***": allowed: a whole number of 1 or more (e.g. 42).');
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('outside any CI, asks for an explicit command', async () => {
    const r = await cli(['--app', 'my-app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'outside a CI run there is no event to decide from: set --command link, deploy, review-app or unlink.',
    );
    expect(r.stderr.split('\n')).toHaveLength(1);
  });
});
