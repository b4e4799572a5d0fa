import { describe, expect, it } from 'vitest';
import {
  parseSettings,
  parseSource,
  parseServiceUrl,
  validateBranch,
  describeSettings,
} from '../../src/core/settings.js';
import { InputError } from '../../src/core/errors.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const from = (inputs: Record<string, string>) => (name: string) => inputs[name];

describe('parseSettings', () => {
  it('applies the documented defaults when only the app is given', () => {
    const s = parseSettings(from({ app: 'my-app', 'api-token': TOKEN }));
    expect(s).toEqual({
      apiToken: TOKEN,
      apps: ['my-app'],
      region: 'osc-fr1',
      apiUrl: 'https://api.osc-fr1.scalingo.com',
      authUrl: 'https://auth.scalingo.com',
      command: 'auto',
      link: {},
      wait: true,
      logs: true,
      timeoutMs: 30 * 60_000,
      pollIntervalMs: 5000,
      requestTimeoutMs: 30_000,
      reviewAppAutoDeploy: false,
      reviewAppDrafts: true,
      failOnNewerCommit: false,
      dryRun: false,
      failWithoutToken: false,
    });
  });

  it('keeps unset optional inputs undefined and empty strings as not given', () => {
    const s = parseSettings(from({ app: 'my-app', branch: '', 'auto-deploy': '', 'hours-before-delete-stale': '  ' }));
    expect(s.link).toEqual({});
    expect('source' in s).toBe(false);
    expect('pullRequest' in s).toBe(false);
  });

  it('maps every link input to its API field, false and 0 included', () => {
    const s = parseSettings(
      from({
        app: 'my-app',
        branch: 'main',
        'auto-deploy': 'false',
        'review-apps': 'TRUE',
        'review-apps-from-forks': 'False',
        'delete-on-close': 'true',
        'hours-before-delete-on-close': '0',
        'delete-stale': 'True',
        'hours-before-delete-stale': '72',
      }),
    );
    expect(s.link).toEqual({
      branch: 'main',
      auto_deploy_enabled: false,
      deploy_review_apps_enabled: true,
      automatic_creation_from_forks_allowed: false,
      delete_on_close_enabled: true,
      hours_before_delete_on_close: 0,
      delete_stale_enabled: true,
      hours_before_delete_stale: 72,
    });
  });

  it('builds the regional API from the region, and accepts an api-url with or without scheme', () => {
    expect(parseSettings(from({ app: 'a1', region: 'osc-secnum-fr1' })).apiUrl).toBe(
      'https://api.osc-secnum-fr1.scalingo.com',
    );
    expect(parseSettings(from({ app: 'a1', 'api-url': 'api.example.com' })).apiUrl).toBe('https://api.example.com');
    expect(parseSettings(from({ app: 'a1', 'api-url': 'https://api.example.com/v1/' })).apiUrl).toBe(
      'https://api.example.com',
    );
    expect(parseSettings(from({ app: 'a1', 'api-url': 'http://127.0.0.1:8080' })).apiUrl).toBe('http://127.0.0.1:8080');
  });

  it('uses the platform repository as the default source, and normalises it', () => {
    expect(parseSettings(from({ app: 'a1' }), { source: 'https://github.com/octo-org/octo-repo' }).source).toBe(
      'https://github.com/octo-org/octo-repo',
    );
    expect(parseSettings(from({ app: 'a1', source: 'https://gitlab.com/group/sub/project.git/' })).source).toBe(
      'https://gitlab.com/group/sub/project',
    );
    expect(parseSettings(from({ app: 'a1', source: 'github.com/o/r' })).source).toBe('https://github.com/o/r');
  });

  it('reads durations with decimals', () => {
    const s = parseSettings(
      from({ app: 'a1', 'timeout-minutes': '0.5', 'poll-interval-seconds': '1.5', 'request-timeout-seconds': '2' }),
    );
    expect([s.timeoutMs, s.pollIntervalMs, s.requestTimeoutMs]).toEqual([30_000, 1500, 2000]);
  });

  it('refuses a poll interval under a second against Scalingo (60 requests a minute), in one line naming input, value and range', () => {
    expect(() => parseSettings(from({ app: 'a1', 'poll-interval-seconds': '0.001' }))).toThrow(
      new InputError(
        'poll-interval-seconds',
        '0.001',
        'allowed: a number of seconds from 1 to 600 (decimals allowed): Scalingo allows 60 requests a minute',
      ),
    );
    expect(() => parseSettings(from({ app: 'a1', 'poll-interval-seconds': '0.001' }))).toThrow(
      'Input `poll-interval-seconds` has value "0.001": allowed: a number of seconds from 1 to 600',
    );
    expect(parseSettings(from({ app: 'a1', 'poll-interval-seconds': '1' })).pollIntervalMs).toBe(1000);
    // A test server on this machine may be polled faster.
    expect(
      parseSettings(from({ app: 'a1', 'api-url': 'http://127.0.0.1:4000', 'poll-interval-seconds': '.25' }))
        .pollIntervalMs,
    ).toBe(250);
  });

  it("reads deploy-branch, a branch deployed once, apart from the link's branch", () => {
    const s = parseSettings(from({ app: 'a1', branch: 'main', 'deploy-branch': 'hotfix/login' }));
    expect(s.deployBranch).toBe('hotfix/login');
    expect(s.link.branch).toBe('main');
    expect(parseSettings(from({ app: 'a1' })).deployBranch).toBeUndefined();
    expect(() => parseSettings(from({ app: 'a1', 'deploy-branch': 'bad..name' }))).toThrow(
      'Input `deploy-branch` has value "bad..name"',
    );
  });

  it.each([
    [{ app: '' }, 'Input `app` is missing'],
    [{ app: 'My App' }, 'Input `app` has value "My": allowed: an app name'],
    [{ app: 'a/b' }, 'Input `app` has value "a/b"'],
    [{ app: '..' }, 'Input `app` has value ".."'],
    [
      { app: 'ok-app', command: 'deploy-all' },
      'Input `command` has value "deploy-all": allowed: auto, link, deploy, review-app, unlink',
    ],
    [{ app: 'ok-app', 'auto-deploy': 'yes' }, 'Input `auto-deploy` has value "yes": allowed: true or false'],
    [{ app: 'ok-app', wait: '1' }, 'Input `wait` has value "1"'],
    [
      { app: 'ok-app', 'hours-before-delete-stale': '-1' },
      'Input `hours-before-delete-stale` has value "-1": allowed: a whole number of 0 or more',
    ],
    [{ app: 'ok-app', 'hours-before-delete-on-close': '1.5' }, 'Input `hours-before-delete-on-close` has value "1.5"'],
    [
      { app: 'ok-app', 'timeout-minutes': '0' },
      'Input `timeout-minutes` has value "0": allowed: a number of minutes greater than 0',
    ],
    [{ app: 'ok-app', 'poll-interval-seconds': 'fast' }, 'Input `poll-interval-seconds` has value "fast"'],
    [
      { app: 'ok-app', 'pull-request': 'abc' },
      'Input `pull-request` has value "abc": allowed: a whole number of 1 or more',
    ],
    [{ app: 'ok-app', 'pull-request': '0' }, 'Input `pull-request` has value "0"'],
    [{ app: 'ok-app', source: 'git@github.com:o/r.git' }, 'Input `source` has value "***@github.com:o/r.git"'],
    [{ app: 'ok-app', source: 'https://user:pw@github.com/o/r' }, 'Input `source` has value'],
    [{ app: 'ok-app', source: 'https://github.com/only-owner' }, 'Input `source` has value'],
    [{ app: 'ok-app', 'api-url': 'ftp://api.example.com' }, 'Input `api-url` has value "ftp://api.example.com"'],
    [{ app: 'ok-app', 'api-url': 'http://api.example.com' }, 'http only on localhost'],
    [{ app: 'ok-app', 'auth-url': 'https://auth.example.com/?x=1' }, 'Input `auth-url` has value'],
    [{ app: 'ok-app', branch: 'feature..x' }, 'Input `branch` has value "feature..x": allowed: a git branch name'],
    [{ app: 'ok-app', region: 'Paris 1' }, 'Input `region` has value "Paris 1"'],
    [{ app: 'ok-app', 'scm-integration': '../../x' }, 'Input `scm-integration` has value "../../x"'],
  ])('rejects %o in one line naming input, value and what is allowed', (inputs, message) => {
    let error: unknown;
    try {
      parseSettings(from(inputs as Record<string, string>));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('describes settings without the token', () => {
    const d = describeSettings(parseSettings(from({ app: 'a1', 'api-token': TOKEN })));
    expect(JSON.stringify(d)).not.toContain(TOKEN);
    expect(d.apiToken).toBe('(given, masked)');
  });
});

describe('validators', () => {
  it('accepts ordinary branch names and refuses dangerous ones', () => {
    for (const ok of ['main', 'release/1.2', 'feat_x-y', 'v1.0']) expect(validateBranch('branch', ok)).toBe(ok);
    for (const bad of ['-rf', 'a b', 'x~1', 'a:b', 'end/', 'x.lock', 'a\\b', '@'])
      expect(() => validateBranch('branch', bad)).toThrow(InputError);
  });

  it('keeps GitLab subgroups in sources and drops .git', () => {
    expect(parseSource('source', 'https://gitlab.example.com/a/b/c.git')).toBe('https://gitlab.example.com/a/b/c');
  });

  it('strips /v1 and trailing slashes from service URLs', () => {
    expect(parseServiceUrl('auth-url', 'https://auth.scalingo.com/v1')).toBe('https://auth.scalingo.com');
    expect(parseServiceUrl('auth-url', 'localhost:3000')).toBe('https://localhost:3000');
  });
});
