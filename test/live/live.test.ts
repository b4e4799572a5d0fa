/**
 * The live suite (npm run test:live), run as a maintainer runs it but pointed at the project's fake through
 * SCALINGO_API_URL and SCALINGO_AUTH_URL: it skips without its variables, stays read-only unless told otherwise,
 * records redacted answers (to a temporary directory: never into the repository during tests), prints the table of
 * questions, and fails when the answers it gets differ from the fake's in a way test/contract/differences.js does not
 * list. Nothing leaves 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoStartOptions } from '../support/fake-scalingo.js';
import { STREAM_ORIGIN } from '../contract/fake-answers.js';
import { answerQuestions } from './questions.js';
import { configFrom } from './live.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const LIVE = join(ROOT, 'test/live/live.js');
const TOKEN = 'tk-us-live-check-0123456789abcdef';
const APP = 'scratch-app';
const USER_EMAIL = 'maintainer@example.org';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node test/live/live.js`, what `npm run test:live` runs, with only these variables (and PATH). */
function live(env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LIVE],
      { env: { PATH: process.env.PATH ?? '', ...env }, cwd: ROOT, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function scratchFake(extra: Partial<FakeScalingoStartOptions> = {}): Promise<FakeScalingo> {
  const fake = await startFakeScalingo({
    tokens: [TOKEN],
    user: { email: USER_EMAIL, username: 'maintainer' },
    apps: { [APP]: {} },
    links: { [APP]: { source: 'https://github.com/octo-org/octo-repo' } },
    deployScript: { durationMs: 500, final: 'success' },
    deployments: { [APP]: [{ status: 'success' }, { status: 'build-error' }] },
    pulls: { 42: { head_branch: 'feature/login' }, 7: { head_branch: 'fix/typo' } },
    reviewApps: [{ pr: 42, parent: APP }],
    stream: { advertise: true, options: { pingIntervalMs: 250 } },
    rateLimitPerMinute: 100,
    ...extra,
  });
  cleanup.push(() => fake.close());
  return fake;
}

function recordDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scalingo-live-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function envFor(fake: FakeScalingo, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SCALINGO_API_TOKEN: TOKEN,
    SCALINGO_LIVE_APP: APP,
    SCALINGO_API_URL: fake.apiUrl,
    SCALINGO_AUTH_URL: fake.authUrl,
    SCALINGO_LIVE_RECORD_DIR: dir,
    SCALINGO_LIVE_STREAM_SECONDS: '1',
    SCALINGO_LIVE_POLL_SECONDS: '0.2',
    SCALINGO_LIVE_REVIEW_APP_WAIT_SECONDS: '1',
    SCALINGO_LIVE_RATE_LIMIT_REQUESTS: '150',
    ...extra,
  };
}

function recorded(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/** Everything that must not survive redaction: credentials, e-mails, hosts, the app's and the repository's names. */
function leaksIn(text: string, fake: FakeScalingo): string[] {
  const bearers = fake.state.bearers.map((b) => b.token);
  const secrets = [TOKEN, ...bearers].flatMap((s) => [s, Buffer.from(`:${s}`).toString('base64')]);
  const found = [
    ...secrets.filter((s) => text.includes(s)).map(() => 'a token or a bearer'),
    ...[
      USER_EMAIL,
      'test-user@example.com',
      'deploy-scm@scalingo.com',
      '127.0.0.1',
      'github.com',
      'scalingo.io',
      'scalingo.com',
      'octo-org',
      'octo-repo',
      '583231',
      APP,
    ].filter((s) => text.includes(s)),
  ];
  const email = /[\w.+-]+@\S+/.exec(text);
  if (email) found.push(`an e-mail (${email[0]})`);
  const url = /[a-z]+:\/\/(?!<)[^\s"]{0,30}/.exec(text);
  if (url) found.push(`a host (${url[0]})`);
  if (/eyJ[\w-]+\./.test(text)) found.push('a JWT');
  return found;
}

describe('npm run test:live', () => {
  it('is node test/live/live.js', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test:live']).toBe('node test/live/live.js');
    expect(pkg.scripts.test).not.toContain('live');
  });

  it('says plainly that it was skipped, and exits 0, without its variables', async () => {
    const summary = join(recordDir(), 'summary.md');
    writeFileSync(summary, '');
    const none = await live({ GITHUB_STEP_SUMMARY: summary });
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(
      /^Live suite skipped: SCALINGO_API_TOKEN and SCALINGO_LIVE_APP are not set\b.*nothing was sent to Scalingo/,
    );
    expect(readFileSync(summary, 'utf8')).toMatch(/Nothing was done/);
    const tokenOnly = await live({ SCALINGO_API_TOKEN: TOKEN });
    expect(tokenOnly.code).toBe(0);
    expect(tokenOnly.stdout).toMatch(/^Live suite skipped: SCALINGO_LIVE_APP is not set/);
    expect(tokenOnly.stdout).not.toContain(TOKEN);
  });

  it('refuses settings it cannot use, before sending anything', async () => {
    expect(await live({ SCALINGO_API_TOKEN: TOKEN, SCALINGO_LIVE_APP: APP, SCALINGO_LIVE_PR: '7' })).toMatchObject({
      code: 2,
      stdout: expect.stringMatching(/needs SCALINGO_LIVE_WRITE=1/),
    });
    expect(
      await live({
        SCALINGO_API_TOKEN: TOKEN,
        SCALINGO_LIVE_APP: APP,
        SCALINGO_LIVE_WRITE: '1',
        SCALINGO_LIVE_PR: 'abc',
      }),
    ).toMatchObject({ code: 2 });
  });
});

describe('the live suite against the fake', () => {
  it('read-only by default: reads everything, records it redacted, answers the questions it can', async () => {
    const fake = await scratchFake();
    const dir = recordDir();
    const inRepository = readdirSync(join(ROOT, 'test/contract/recorded'));
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    const result = await live(envFor(fake, dir, { GITHUB_STEP_SUMMARY: summary }));
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);

    // Nothing but the token exchange changed anything on the platform.
    expect(fake.mutating()).toEqual([]);
    const files = recorded(dir);
    for (const name of [
      'token-exchange',
      'users-self',
      'integrations-list',
      'app-show',
      'link-show',
      'links-list-page-1',
      'deployments-list',
      'deployment-show',
      'deployment-output',
      'review-apps-list',
      'review-apps-list-link-1',
      'error-401-bearer',
      'error-404',
      'unknown-route',
      'stream',
      'stream-without-origin',
      'rate-limited',
    ]) {
      expect(Object.keys(files), name).toContain(`${name}.json`);
    }
    expect(Object.keys(files).filter((f) => /manual|update/.test(f))).toEqual([]);
    expect(readdirSync(join(ROOT, 'test/contract/recorded'))).toEqual(inRepository);

    // What was recorded is Scalingo's answer, keys and types kept.
    const link = JSON.parse(files['link-show.json']!) as {
      status: number;
      comparedWith: string;
      body: { scm_repo_link: Record<string, unknown> };
    };
    expect(link).toMatchObject({ status: 200, comparedWith: 'link-show' });
    expect(link.body.scm_repo_link).toMatchObject({
      owner: '<owner>',
      repo: '<repo>',
      branch: 'main',
      auto_deploy_enabled: false,
      hours_before_delete_stale: 0,
    });
    expect(JSON.parse(files['rate-limited.json']!)).toMatchObject({
      status: 429,
      content: 'text',
      body: 'Retry later',
    });
    const stream = JSON.parse(files['stream.json']!) as { outcome: string; frames: { frame: { type: string } }[] };
    expect(stream.outcome).toBe('open');
    expect(stream.frames.map((f) => f.frame.type)).toContain('ping');
    expect(JSON.parse(files['stream-without-origin.json']!)).toMatchObject({ outcome: 'refused', httpStatus: 403 });
    expect(fake.stream?.upgrades.map((u) => u.origin)).toEqual([undefined, STREAM_ORIGIN]);

    // Redacted: no token, bearer, e-mail, host nor account name survives, in the files or on the console.
    for (const [name, content] of Object.entries(files)) expect(leaksIn(content, fake), name).toEqual([]);
    expect(leaksIn(result.stdout, fake)).toEqual([]);
    expect(leaksIn(readFileSync(summary, 'utf8'), fake)).toEqual([]);

    // The questions table, settled where a read-only run can, and saying what the others need.
    expect(result.stdout).toMatch(/Open questions/);
    expect(result.stdout).toMatch(
      /SETTLED\s+Does the deployments stream check the Origin header\?\s+yes: without Origin the upgrade was refused \(HTTP 403\)/,
    );
    expect(result.stdout).toMatch(
      /SETTLED\s+What does a rate-limited answer look like\?\s+429 after \d+ requests, text\/plain; charset=utf-8, body "Retry later"/,
    );
    expect(result.stdout).toMatch(/SETTLED\s+How long does a bearer token last\?\s+3600 s/);
    expect(result.stdout).toMatch(
      /SETTLED\s+Is the review app list's pull_request.branch_name the label owner:branch\?\s+yes: "<owner>:feature\/login"/,
    );
    expect(result.stdout).toMatch(
      /open\s+Does manual_deploy accept a branch given as owner:branch \(the head label\)\?\s+not settled: needs SCALINGO_LIVE_WRITE=1 and SCALINGO_LIVE_PR/,
    );
    expect(result.stdout).toMatch(/and test\/contract\/differences.js does not say so \(0\)/);
    expect(files['questions.md']).toMatch(/^\| # \| question \| answer \| from \|/);
    expect(readFileSync(summary, 'utf8')).toMatch(/## Live check against Scalingo \(read-only\)/);
  }, 60_000);

  it('with SCALINGO_LIVE_WRITE=1 and a pull request: deploys, makes the review app, reads and PATCHes its link, deploys it with the bare branch and once with owner:branch', async () => {
    const fake = await scratchFake({ rateLimitPerMinute: undefined });
    const dir = recordDir();
    const result = await live(
      envFor(fake, dir, { SCALINGO_LIVE_WRITE: '1', SCALINGO_LIVE_PR: '7', SCALINGO_LIVE_RATE_LIMIT_REQUESTS: '0' }),
    );
    expect(result.code, result.stdout).toBe(0);

    const writes = fake.mutating().map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`);
    expect(writes).toEqual([
      `POST /v1/apps/${APP}/scm_repo_link/manual_deploy {"branch":"main"}`,
      `POST /v1/apps/${APP}/scm_repo_link/manual_review_app {"pull_request_id":7}`,
      `POST /v1/apps/${APP}/scm_repo_link/manual_review_app {"pull_request_id":7}`,
      `PATCH /v1/apps/${APP}-pr7/scm_repo_link {"scm_repo_link":{"auto_deploy_enabled":false}}`,
      `POST /v1/apps/${APP}-pr7/scm_repo_link/manual_deploy {"branch":"fix/typo"}`,
      `POST /v1/apps/${APP}-pr7/scm_repo_link/manual_deploy {"branch":"octo-org:fix/typo"}`,
    ]);
    // Each deployment was followed to its end before the next step; the fake, as Scalingo most likely does, refuses
    // the label: no third deployment.
    expect(fake.deploymentsCreated().map((d) => d.status)).toEqual(['success', 'success']);

    const files = recorded(dir);
    for (const name of [
      'manual-deploy',
      'manual-deploy-end-show',
      'manual-deploy-output',
      'manual-review-app',
      'manual-review-app-again',
      'review-app-link-show',
      'review-app-link-update',
      'links-list-after-review-app-page-1',
      'review-app-manual-deploy',
      'review-app-manual-deploy-label',
      'review-app-stream',
    ]) {
      expect(Object.keys(files), name).toContain(`${name}.json`);
    }
    for (const [name, content] of Object.entries(files)) expect(leaksIn(content, fake), name).toEqual([]);
    expect(leaksIn(result.stdout, fake)).toEqual([]);

    expect(result.stdout).toMatch(
      /SETTLED\s+Does manual_deploy accept a branch given as owner:branch \(the head label\)\?\s+refused: 404 \{"error":"branch/,
    );
    expect(result.stdout).toMatch(/SETTLED\s+What does manual_review_app answer\?\s+200 \{"review_app":\{/);
    expect(result.stdout).toMatch(
      /SETTLED\s+Is a second manual_review_app for the same pull request refused, and how\?\s+refused: 422 \{"errors":\{"pull_request_id"/,
    );
    expect(result.stdout).toMatch(/SETTLED\s+Do review apps' own links appear in GET \/v1\/scm_repo_links\?\s+yes/);
    expect(result.stdout).toMatch(
      /SETTLED\s+Does the stream's new event carry the deployment as an object \(with its pusher or user\)\?\s+an object, keys .*\bid\b.*\bpusher\b/,
    );
    expect(result.stdout).toMatch(/SETTLED\s+Does a stream log event's content end with a newline\?/);
    expect(result.stdout).toMatch(
      /SETTLED\s+Did a manual deploy of the app run to its end on the stream\?\s+ended success in \d+ s, seen on the stream/,
    );
    expect(result.stdout).toMatch(
      /SETTLED\s+Does a new review app start its first deployment by itself\?\s+no deployment within \d+ s/,
    );
  }, 60_000);

  it("fails, and says where, when the answers differ from the fake's in a way the list of differences does not say", async () => {
    const fake = await scratchFake();
    fake.fault({
      kind: 'status',
      status: 200,
      method: 'GET',
      path: `/v1/apps/${APP}/deployments`,
      body: {
        deployments: [],
        meta: { pagination: { current_page: '1', prev_page: null, next_page: null, total_pages: 1, total_count: 0 } },
      },
    });
    const result = await live(envFor(fake, recordDir(), { SCALINGO_LIVE_RATE_LIMIT_REQUESTS: '0' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /does not say so \(1\):\n {2}deployments-list meta\.pagination\.current_page type: expected string, got number/,
    );
  }, 60_000);
});

describe('the questions', () => {
  it('say what a run needs to settle them', () => {
    const rows = answerQuestions({ mode: 'read-only', pullRequest: false });
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.every((r) => !r.settled)).toBe(true);
    expect(rows.find((r) => r.id === 'review-app-answer')?.answer).toBe(
      'not settled: needs SCALINGO_LIVE_WRITE=1 and SCALINGO_LIVE_PR',
    );
    expect(rows.find((r) => r.id === 'new-object')?.answer).toBe('not settled: needs SCALINGO_LIVE_WRITE=1');
    expect(rows.find((r) => r.id === 'origin-checked')?.answer).toMatch(/not observed in this run/);
  });

  it('cover the five questions of the third audit', () => {
    const ids = answerQuestions({ mode: 'write', pullRequest: true }).map((r) => r.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'branch-label-deploy',
        'review-app-links-listed',
        'log-newline',
        'origin-checked',
        'rate-limited',
      ]),
    );
  });
});

describe('the settings', () => {
  it("default to Scalingo's hosts for the region, and take a bare host as the docs write it", () => {
    const base = { SCALINGO_API_TOKEN: TOKEN, SCALINGO_LIVE_APP: APP };
    expect(configFrom(base)).toMatchObject({
      config: {
        apiUrl: 'https://api.osc-fr1.scalingo.com',
        authUrl: 'https://auth.scalingo.com',
        write: false,
        streamSeconds: 20,
      },
    });
    expect(configFrom({ ...base, SCALINGO_REGION: 'osc-secnum-fr1' })).toMatchObject({
      config: { apiUrl: 'https://api.osc-secnum-fr1.scalingo.com' },
    });
    expect(
      configFrom({ ...base, SCALINGO_API_URL: 'api.example.test/', SCALINGO_AUTH_URL: 'http://127.0.0.1:9' }),
    ).toMatchObject({ config: { apiUrl: 'https://api.example.test', authUrl: 'http://127.0.0.1:9' } });
    expect(configFrom({ ...base, SCALINGO_LIVE_WRITE: 'true', SCALINGO_LIVE_PR: '12' })).toMatchObject({
      config: { write: true, pr: 12 },
    });
  });
});
