/**
 * The pull request comment and GitHub deployments, in-process against the fake GitHub API: what is sent (method,
 * path, body), what GitHub holds afterwards, and the one warning a failure gives. GitHub's own failures are
 * scripted: 5xx and lost connections (retried twice), secondary and primary rate limits (waited out when the wait
 * fits the call's time, at most 3 times), a GitHub that never answers (given up at the call's deadline).
 * The plugins' wait unit and the pause between writes are shortened to 20 ms (a "1 s" wait lasts 20 ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/log.js';
import type { AppReport } from '../../src/core/report.js';
import type { DeploymentEvent } from '../../src/core/session.js';
import { githubContext } from '../../src/platform/github/event.js';
import { GitHubFeatures, type FeatureOptions } from '../../src/platform/github/features.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { byAction, webhook } from '../support/payloads.js';

const REPO = 'Codertocat/Hello-World';
const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const UNIT_MS = 20;

let github: FakeGitHub | undefined;
afterEach(async () => {
  await github?.close();
  github = undefined;
});

function recordingLog(): Logger & { warnings: string[]; lines: string[] } {
  const warnings: string[] = [];
  const lines: string[] = [];
  return {
    warnings,
    lines,
    info: (l: string) => void lines.push(l),
    debug: () => undefined,
    warning: (l: string) => void warnings.push(l),
    error: (l: string) => void lines.push(l),
    group: async <T>(_: string, fn: () => Promise<T>) => fn(),
  } as unknown as Logger & { warnings: string[]; lines: string[] };
}

function pullRequestContext(action = 'opened') {
  const payload = webhook('pull_request', byAction(action)) as Record<string, unknown>;
  return githubContext(
    {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_REF: 'refs/pull/2/merge',
      GITHUB_SHA: SHA,
      GITHUB_REPOSITORY: REPO,
      GITHUB_RUN_ID: '42',
    },
    payload as never,
  );
}

function pushContext() {
  return githubContext(
    {
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: SHA,
      GITHUB_REPOSITORY: REPO,
      GITHUB_RUN_ID: '42',
    },
    { ref: 'refs/heads/main', after: SHA, repository: { full_name: REPO } } as never,
  );
}

async function features(over: Partial<FeatureOptions> & { faults?: Parameters<typeof startFakeGitHub>[0] } = {}) {
  const { faults, ...rest } = over;
  github = await startFakeGitHub({ repository: REPO, ...faults });
  const log = recordingLog();
  const f = new GitHubFeatures({
    token: 'ghs_fakeGitHubToken0123456789',
    comment: true,
    deployment: true,
    environment: undefined,
    ctx: pullRequestContext(),
    repository: REPO,
    dryRun: false,
    log,
    timeoutMs: 10_000,
    apps: ['my-app'],
    apiUrl: github.url,
    tuning: { retryUnitMs: UNIT_MS, writeSpacingMs: UNIT_MS },
    ...rest,
  });
  return { f, log, gh: github };
}

const started = (over: Partial<DeploymentEvent> = {}): DeploymentEvent => ({
  app: 'my-app-pr2',
  parentApp: 'my-app',
  deploymentId: 'dep-1',
  status: 'queued',
  reviewApp: 'my-app-pr2',
  pullRequest: { number: 2, sha: SHA } as DeploymentEvent['pullRequest'],
  appUrl: 'https://my-app-pr2.osc-fr1.scalingo.io',
  dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr2',
  ...over,
});

const finished = (over: Partial<AppReport> = {}): AppReport =>
  ({
    ok: true,
    outcome: 'success',
    message: '',
    parentApp: 'my-app',
    region: 'osc-fr1',
    event: 'pull_request',
    app: 'my-app-pr2',
    reviewApp: 'my-app-pr2',
    appUrl: 'https://my-app-pr2.osc-fr1.scalingo.io',
    pullRequest: { number: 2, sha: SHA } as AppReport['pullRequest'],
    deployment: { app: 'my-app-pr2', id: 'dep-1', status: 'success', startedAt: 0, gitRef: SHA },
    dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr2',
    timedOut: false,
    notes: [],
    warnings: [],
    requests: 0,
    durationMs: 0,
    ...over,
  }) as AppReport;

/** Method and path of each request GitHub received, with its answer's status. */
const calls = (gh: FakeGitHub) =>
  gh.requests.map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status ?? 'dropped'}`);
const COMMENTS = `/repos/${REPO}/issues/2/comments`;
const DEPLOYMENTS = `/repos/${REPO}/deployments`;

describe('the pull request comment', () => {
  it('is created once with the review app, then updated in place (found by its marker), never a second one', async () => {
    const { f, log, gh } = await features({ deployment: false });
    await f.started(started());
    await f.finished(finished());

    expect(calls(gh)).toEqual([
      `GET ${COMMENTS} 200`,
      `POST ${COMMENTS} 201`,
      `PATCH /repos/${REPO}/issues/comments/${gh.state.comments[0]!.id} 200`,
    ]);
    expect(gh.state.comments).toHaveLength(1);
    expect(gh.state.comments[0]!.body).toContain('my-app-pr2');
    expect(gh.state.comments[0]!.body).toContain('https://my-app-pr2.osc-fr1.scalingo.io');
    expect(log.warnings).toEqual([]);
  });

  it('a later run finds the comment of an earlier one by its marker and updates it', async () => {
    const first = await features({ deployment: false });
    await first.f.started(started());
    const body = first.gh.state.comments[0]!.body;
    await first.gh.close();
    github = undefined;

    const { f, gh } = await features({
      deployment: false,
      faults: { existingComments: { 2: ['an unrelated comment', body] } },
    });
    await f.finished(finished());
    expect(calls(gh).filter((c) => !c.startsWith('GET'))).toEqual([
      `PATCH /repos/${REPO}/issues/comments/${gh.state.comments[1]!.id} 200`,
    ]);
    expect(gh.state.comments.map((c) => c.body.includes('my-app-pr2'))).toEqual([false, true]);
  });

  it("shows the end of a failed build's output", async () => {
    const { f, gh } = await features({ deployment: false });
    await f.finished(
      finished({
        ok: false,
        outcome: 'failed',
        message: 'Deployment dep-1 of my-app-pr2 ended with status build-error',
        deployment: {
          app: 'my-app-pr2',
          id: 'dep-1',
          status: 'build-error',
          startedAt: 0,
          outputTail: 'npm ERR! missing script: build',
        },
      }),
    );
    expect(gh.state.comments[0]!.body).toContain('npm ERR! missing script: build');
    expect(gh.state.comments[0]!.body).toContain('build-error');
  });
});

describe('GitHub deployments', () => {
  it('on push: a production deployment of the commit, in_progress then success with the app URL', async () => {
    const { f, log, gh } = await features({ comment: false, ctx: pushContext() });
    await f.started(
      started({
        app: 'my-app',
        reviewApp: undefined,
        pullRequest: undefined,
        appUrl: 'https://my-app.osc-fr1.scalingo.io',
      }),
    );
    await f.finished(
      finished({
        app: 'my-app',
        reviewApp: undefined,
        pullRequest: undefined,
        appUrl: 'https://my-app.osc-fr1.scalingo.io',
        event: 'push',
      }),
    );

    expect(gh.state.deployments).toEqual([
      expect.objectContaining({
        sha: SHA,
        environment: 'my-app',
        production_environment: true,
        transient_environment: false,
      }),
    ]);
    expect(gh.state.statuses.map((s) => [s.state, s.environment_url])).toEqual([
      ['in_progress', 'https://my-app.osc-fr1.scalingo.io'],
      ['success', 'https://my-app.osc-fr1.scalingo.io'],
    ]);
    expect(log.warnings).toEqual([]);
  });

  it('a failed deployment is a failure status', async () => {
    const { f, gh } = await features({ comment: false });
    await f.started(started());
    await f.finished(
      finished({
        ok: false,
        outcome: 'failed',
        deployment: { app: 'my-app-pr2', id: 'dep-1', status: 'build-error', startedAt: 0 },
      }),
    );
    expect(gh.state.deployments).toEqual([
      expect.objectContaining({
        environment: 'my-app-pr2',
        transient_environment: true,
        production_environment: false,
      }),
    ]);
    expect(gh.state.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
  });

  it('a closed pull request marks the active deployments of its environment inactive, once', async () => {
    const { f, log, gh } = await features({
      comment: false,
      ctx: pullRequestContext('closed'),
      faults: {
        existingDeployments: [
          { environment: 'my-app-pr2', states: ['success'] },
          { environment: 'my-app-pr2', states: ['inactive'] },
          { environment: 'other', states: ['success'] },
        ],
      },
    });
    await f.finished(
      finished({
        action: { kind: 'review-app-closed', pr: { number: 2 } } as AppReport['action'],
        deployment: undefined,
      }),
    );
    const posted = gh.requests.filter((r) => r.method === 'POST');
    expect(posted.map((r) => [r.path, (r.body as { state?: string }).state])).toEqual([
      [`${DEPLOYMENTS}/${gh.state.deployments[0]!.id}/statuses`, 'inactive'],
    ]);
    expect(log.lines).toContain(
      'GitHub environment my-app-pr2: 1 deployment(s) marked inactive (pull request #2 closed)',
    );
  });
});

describe('GitHub failing', () => {
  it('a 502 then success: tried again, one comment, no warning', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: { faults: [{ kind: 'status', status: 502, method: 'POST', path: COMMENTS }] },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 200`, `POST ${COMMENTS} 502`, `POST ${COMMENTS} 201`]);
    expect(gh.state.comments).toHaveLength(1);
    expect(log.warnings).toEqual([]);
  });

  it('a lost connection: tried again', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: { faults: [{ kind: 'reset-before', method: 'GET', path: COMMENTS }] },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} dropped`, `GET ${COMMENTS} 200`, `POST ${COMMENTS} 201`]);
    expect(log.warnings).toEqual([]);
  });

  it('5xx every time: 3 tries, then one warning; the step goes on', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: { faults: [{ kind: 'status', status: 503, method: 'GET', path: COMMENTS, times: Infinity }] },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 503`, `GET ${COMMENTS} 503`, `GET ${COMMENTS} 503`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(/^Pull request comment failed \(503\): .*permissions: pull-requests: write/),
    ]);
  });

  it('a 4xx is not tried again: one warning naming the permission', async () => {
    const { f, log, gh } = await features({
      comment: false,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'POST',
            path: DEPLOYMENTS,
            body: { message: 'Resource not accessible by integration' },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`POST ${DEPLOYMENTS} 403`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(
        /^GitHub deployment failed \(403\): Resource not accessible by integration.*permissions: deployments: write/,
      ),
    ]);
  });

  it('a secondary rate limit with retry-after is waited out, and the write goes through', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'POST',
            path: COMMENTS,
            body: {
              message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            },
            headers: { 'retry-after': '2' },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 200`, `POST ${COMMENTS} 403`, `POST ${COMMENTS} 201`]);
    const [limited, again] = gh.requests.filter((r) => r.method === 'POST');
    expect(again!.at - limited!.at).toBeGreaterThanOrEqual(2 * UNIT_MS);
    expect(log.warnings).toEqual([]);
  });

  it('a 429 secondary limit is waited as GitHub says, not by the retry backoff', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 429,
            method: 'GET',
            path: COMMENTS,
            body: { message: 'You have exceeded a secondary rate limit.' },
            headers: { 'retry-after': '5' },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 429`, `GET ${COMMENTS} 200`, `POST ${COMMENTS} 201`]);
    const [limited, again] = gh.requests;
    expect(again!.at - limited!.at).toBeGreaterThanOrEqual(5 * UNIT_MS);
    expect(log.warnings).toEqual([]);
  });

  it('a secondary limit that asks for longer than the call has left: given up at once, one warning naming the limit and the wait', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      timeoutMs: 200,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'GET',
            path: COMMENTS,
            body: { message: 'You have exceeded a secondary rate limit.' },
            headers: { 'retry-after': '3600' },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 403`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(
        /^Pull request comment given up: GitHub's secondary rate limit asked to wait 3600 s, more than the \d+ s left for this call \(request-timeout-seconds\)\.$/,
      ),
    ]);
  });

  it('a secondary limit that holds: 3 waits, then one warning', async () => {
    const { f, log, gh } = await features({
      deployment: false,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'GET',
            path: COMMENTS,
            times: Infinity,
            body: { message: 'You have exceeded a secondary rate limit.' },
            headers: { 'retry-after': '1' },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual(Array(4).fill(`GET ${COMMENTS} 403`));
    expect(log.warnings).toEqual(["Pull request comment given up: GitHub's secondary rate limit held after 3 waits."]);
  });

  it('the primary rate limit is waited until its reset when that fits', async () => {
    const reset = String(Math.ceil(Date.now() / 1000));
    const { f, log, gh } = await features({
      deployment: false,
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'GET',
            path: COMMENTS,
            body: { message: 'API rate limit exceeded for installation.' },
            headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 403`, `GET ${COMMENTS} 200`, `POST ${COMMENTS} 201`]);
    expect(log.warnings).toEqual([]);
  });

  it("the primary rate limit with a reset past the call's time: one warning naming it", async () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 3600);
    const { f, log, gh } = await features({
      deployment: false,
      timeoutMs: 200,
      tuning: { retryUnitMs: 1000, writeSpacingMs: UNIT_MS },
      faults: {
        faults: [
          {
            kind: 'status',
            status: 403,
            method: 'GET',
            path: COMMENTS,
            body: { message: 'API rate limit exceeded for installation.' },
            headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
          },
        ],
      },
    });
    await f.started(started());
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 403`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(
        /^Pull request comment given up: GitHub's primary rate limit asked to wait 36\d\d s, more than the \d s left/,
      ),
    ]);
  });

  it("a GitHub that never answers: given up at the call's deadline, not sent again", async () => {
    const { f, log, gh } = await features({
      deployment: false,
      timeoutMs: 300,
      faults: { faults: [{ kind: 'delay', ms: 60_000, method: 'GET', path: COMMENTS }] },
    });
    const t0 = Date.now();
    await f.started(started());
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(gh.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([`GET ${COMMENTS}`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(
        /^Pull request comment given up: GitHub did not answer within 4\.3 s \(request-timeout-seconds, plus the pauses GitHub asks for between writes\)\.$/,
      ),
    ]);
  });

  it("5xx while the call's time runs out: given up at its deadline, not at the end of the backoff, and nothing sent after", async () => {
    // Backoff of 3 s then 12 s: the call's 4.3 s (0.3 s, plus the pauses between writes) end during the second wait.
    const { f, log, gh } = await features({
      deployment: false,
      timeoutMs: 300,
      tuning: { retryUnitMs: 3000, writeSpacingMs: UNIT_MS },
      faults: { faults: [{ kind: 'status', status: 502, method: 'GET', path: COMMENTS, times: Infinity }] },
    });
    const t0 = Date.now();
    await f.started(started());
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(4000);
    expect(took).toBeLessThan(10_000);
    expect(calls(gh)).toEqual([`GET ${COMMENTS} 502`, `GET ${COMMENTS} 502`]);
    expect(log.warnings).toEqual([
      expect.stringMatching(/^Pull request comment given up: GitHub did not answer within 4\.3 s/),
    ]);
  });

  it('no token: one warning for the step, not one per call, and nothing sent', async () => {
    const { f, log, gh } = await features({ token: '' });
    await f.started(started());
    await f.finished(finished());
    expect(gh.requests).toEqual([]);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/skipped: no GitHub token or repository/);
  });
});
