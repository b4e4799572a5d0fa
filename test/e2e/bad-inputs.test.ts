/**
 * Bad input through the built bundle, on both edges: one error line, a non-zero exit and not a single request to
 * Scalingo. A few representative cases prove the wiring; the whole table of bad values is read in-process by
 * test/unit/bad-inputs.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, world } from './helpers.js';

checkEveryRun();

const push = () => webhook('push', byRef('refs/heads/'));

describe('GitHub Action', () => {
  it.each([
    [
      'auto-deploy',
      'yes',
      '::error::Input `auto-deploy` has value "yes": allowed: true or false (true, True, TRUE, false, False, FALSE).',
    ],
    [
      'app',
      'a/b',
      '::error::Input `app` has value "a/b": allowed: an app name of lower-case letters, digits and hyphens (e.g. my-app).',
    ],
    [
      'comment',
      'sure',
      '::error::Input `comment` has value "sure": allowed: true or false (true, True, TRUE, false, False, FALSE).',
    ],
  ])('%s: %s is one error line, exit 1, no request', async (input, value, line) => {
    const w = await world();
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { [input]: value } });
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([line]);
    expect(w.fake.requests).toEqual([]);
  });

  it('a URL with credentials is refused without showing them, and every output is set (empty)', async () => {
    const w = await world();
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { source: 'https://deploy-bot:s3cr3t-pw@github.com/octo-org/octo-repo' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::Input `source` has value "https://***@github.com/octo-org/octo-repo"');
    expect(r.everything).not.toContain('s3cr3t-pw');
    expect(r.everything).not.toContain('deploy-bot');
    expect(r.outputs).toEqual({
      app: '',
      'app-url': '',
      'deployment-id': '',
      'deployment-status': '',
      'review-app': '',
      link: '',
      'timed-out': 'false',
      'dashboard-url': '',
      'git-ref': '',
      apps: '[]',
    });
    expect(w.fake.requests).toEqual([]);
  });

  it('a missing app with no app linked to the repository: says to set `app` or link an app, changes nothing', async () => {
    const w = await world({ links: { 'my-app': { source: 'https://github.com/someone/else' } } });
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push(), inputs: { app: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /::error::No Scalingo app is linked to https:\/\/github.com\/Codertocat\/Hello-World among the links made by the token's user( test-user)? in osc-fr1 \(Scalingo's list of links holds only those\): set `app` to the app\(s\) to deploy, or link an app to this repository/,
    );
    expect(w.fake.mutating()).toEqual([]);
    expect(r.outputs.apps).toBe('[]');
  });
});

describe('command line', () => {
  it('a bad flag value: exit 2, one line on stderr, no request', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'deploy', '--timeout-minutes=0'] });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^scalingo-deploy: .*timeout-minutes.*"0".*allowed: a number of minutes greater than 0 and at most 360/,
    );
    expect(w.fake.requests).toEqual([]);
  });

  it('a bad SCALINGO_* variable: exit 2, one line on stderr, no request', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app'], env: { SCALINGO_COMMAND: 'deploy', SCALINGO_WAIT: 'Yes' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^scalingo-deploy: .*"Yes".*allowed: true or false/);
    expect(w.fake.requests).toEqual([]);
  });

  it('an unknown flag is a usage error', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--bogus', 'x'], dotenv: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('scalingo-deploy: unknown flag --bogus (see --help)\n');
    expect(w.fake.requests).toEqual([]);
  });

  it('without a token, fails with the fix', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'deploy'], env: { SCALINGO_API_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'scalingo-deploy: No Scalingo API token: set the SCALINGO_API_TOKEN environment variable (GitLab: a masked CI/CD variable).',
    );
    expect(w.fake.requests).toEqual([]);
  });
});
