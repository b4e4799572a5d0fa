/**
 * Bad input, on both edges: one line that names the input, the value and what is allowed, a non-zero exit, and
 * not a single request to Scalingo.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, TOKEN, world } from './helpers.js';

checkEveryRun();

/** [input, value, what the message must say after naming them]. Each runs on GitHub and on the command line. */
const BAD: [string, string, string][] = [
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

/** GitHub-only inputs. */
const BAD_GITHUB: [string, string, string][] = [
  ['comment', 'sure', 'allowed: true or false'],
  ['github-deployment', '2', 'allowed: true or false'],
];

const push = () => webhook('push', byRef('refs/heads/'));

/** How an error shows a value: a URL's credentials are replaced by ***. */
const shown = (input: string, value: string): string => (/^source$|-url$/.test(input) ? value.replace(/^([a-z]+:\/\/)?.*@/, '$1***@') : value);

describe('GitHub Action', () => {
  it.each([...BAD, ...BAD_GITHUB])('%s: %s', async (input, value, allowed) => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { [input]: value } });
    expect(r.code).not.toBe(0);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toEqual([`::error::Input \`${input}\` has value ${JSON.stringify(shown(input, value))}: ${errors[0]?.split(': ').slice(1).join(': ')}`]);
    expect(errors[0]).toContain(allowed);
    expect(errors[0]).not.toContain('%0A');
    expect(w.fake.requests).toEqual([]);
  });

  it('a URL with credentials is refused without showing them, and every output is set (empty)', async () => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { source: 'https://deploy-bot:s3cr3t-pw@github.com/octo-org/octo-repo' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::Input `source` has value "https://***@github.com/octo-org/octo-repo"');
    expect(r.everything).not.toContain('s3cr3t-pw');
    expect(r.everything).not.toContain('deploy-bot');
    expect(r.outputs).toEqual({ app: '', 'app-url': '', 'deployment-id': '', 'deployment-status': '', 'review-app': '', link: '', 'timed-out': 'false', 'dashboard-url': '' });
    expect(w.fake.requests).toEqual([]);
  });

  it.each([
    ['https://bot:pa/ss@github.com/octo-org/octo-repo', 'pa/ss', 'https://***@github.com/octo-org/octo-repo'],
    ['https://bot:pa@ss@github.com/octo-org/octo-repo', 'pa@ss', 'https://***@github.com/octo-org/octo-repo'],
    ['bot:pa ss@github.com/octo-org/octo-repo', 'pa ss', '***@github.com/octo-org/octo-repo'],
  ])('a password with "/", "@" or a space is hidden too: %s', async (source, password, hidden) => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { source } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`::error::Input \`source\` has value ${JSON.stringify(hidden)}`);
    expect(r.everything).not.toContain(password);
    expect(w.fake.requests).toEqual([]);
  });

  it('a malformed token is refused without showing it, before any request', async () => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { 'api-token': 'tk-us-0123456789 abcdef' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::Input `api-token` is malformed (23 characters, with spaces or control characters)');
    expect(w.fake.requests).toEqual([]);
  });

  it('a missing app says so', async () => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { app: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::Input `app` is missing: required: the Scalingo app name (input `app` or SCALINGO_APP).');
    expect(w.fake.requests).toEqual([]);
  });
});

describe('command line (flags and SCALINGO_* variables)', () => {
  it.each(BAD)('--%s %s', async (input, value, allowed) => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'deploy', `--${input}=${value}`] });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`scalingo-deploy: Input \`${input}\` has value ${JSON.stringify(shown(input, value))}: ${r.stderr.split(': ').slice(2).join(': ')}`);
    expect(r.stderr).toContain(allowed);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(w.fake.requests).toEqual([]);
  });

  it.each(BAD.slice(0, 12))('SCALINGO_%s=%s', async (input, value, allowed) => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app'], env: { SCALINGO_COMMAND: 'deploy', [`SCALINGO_${input.toUpperCase().replace(/-/g, '_')}`]: value } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Input \`${input}\` has value ${JSON.stringify(shown(input, value))}`);
    expect(r.stderr).toContain(allowed);
    expect(w.fake.requests).toEqual([]);
  });

  it.each([
    [['--bogus', 'x'], 'unknown flag --bogus (see --help)'],
    [['--api-token', 'tk-us-xyz'], '--api-token is not a flag: a token on the command line shows in process lists and shell history. Set the SCALINGO_API_TOKEN environment variable.'],
    [['--app'], '--app needs a value'],
    [['deploy'], 'unexpected argument at position 1 (6 characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)'],
    [['--app', 'my-app', 'tk-us-pasted-by-mistake'], 'unexpected argument at position 3 (23 characters): settings are flags such as --app my-app, the token goes in SCALINGO_API_TOKEN (see --help)'],
  ])('%j', async (args, message) => {
    const w = await world();
    const r = await w.cli({ args: args as string[], dotenv: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`scalingo-deploy: ${message}\n`);
    expect(w.fake.requests).toEqual([]);
  });

  it('a token pasted as a flag value is not echoed', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'review-app', '--pull-request', TOKEN] });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('scalingo-deploy: Input `pull-request` has value "***": allowed: a whole number of 1 or more (e.g. 42).\n');
    expect(w.fake.requests).toEqual([]);
  });

  it('outside any CI, asks for an explicit command', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('scalingo-deploy: Input `command` has value "auto": outside a CI run there is no event to decide from: set --command link, deploy, review-app or unlink.\n');
    expect(w.fake.requests).toEqual([]);
  });

  it('without a token, fails with the fix', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'deploy'], env: { SCALINGO_API_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scalingo-deploy: No Scalingo API token: set the SCALINGO_API_TOKEN environment variable (GitLab: a masked CI/CD variable).');
    expect(w.fake.requests).toEqual([]);
  });
});
