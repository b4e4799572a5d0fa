/**
 * Fault injection: the core's run() in-process against a fake Scalingo API that fails in chosen ways. Transient faults are
 * absorbed, real failures are reported precisely, and one run never triggers two deployments.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import {
  calls,
  IN_STEP_LINK,
  onGitHub,
  writes,
  world,
  type Fake,
  type FakeOptions,
  type InProcessResult,
} from './harness.js';

const DEPLOY = '/v1/apps/my-app/scm_repo_link/manual_deploy';
const STATUS = /^\/v1\/apps\/my-app\/deployments\/[^/]+$/;

/**
 * The backoff after a 5xx or a lost answer, twenty times shorter than the product's (same growth, same number of
 * attempts), so that a test of retries does not wait seconds. What a 429 waits (Retry-After, or the minute of backoff
 * without it) is the product's own: the tests below measure it.
 */
const QUICK_RETRY = { baseDelayMs: 25, maxDelayMs: 400 };

/** A push to master, link in step, deployments that need three polls. */
async function pushWith(
  faults: FakeOptions['faults'],
  inputs: Record<string, string> = {},
  options: FakeOptions = {},
  abortWhen?: RegExp,
) {
  const w = await world({
    links: { 'my-app': IN_STEP_LINK },
    deployScript: ['queued', 'building', 'starting', 'success'],
    faults,
    ...options,
  });
  const result = await w.run({
    ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
    inputs,
    ...(abortWhen ? { abortWhen } : {}),
    deps: { retry: QUICK_RETRY },
  });
  return { fake: w.fake, result };
}

function deploysSent(fake: Fake): number {
  return calls(fake).filter((c) => c === `api POST ${DEPLOY}`).length;
}

function expectOneDeploymentThatSucceeded(fake: Fake, result: InProcessResult): void {
  expect(result.report).toMatchObject({ ok: true, outcome: 'success' });
  expect(fake.deploymentsCreated()).toHaveLength(1);
  expect(result.outputs['deployment-id']).toBe(fake.deploymentsCreated()[0]!.id);
  expect(result.outputs['deployment-status']).toBe('success');
}

describe('reads are retried', () => {
  it.each([500, 502, 503])('%i on the link read', async (status) => {
    const { fake, result } = await pushWith([
      { kind: 'status', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', status, times: 2 },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(calls(fake).filter((c) => c === 'api GET /v1/apps/my-app/scm_repo_link')).toHaveLength(3);
  });

  it('503 on the token exchange', async () => {
    const { fake, result } = await pushWith([
      { kind: 'status', service: 'auth', path: '/v1/tokens/exchange', status: 503, times: 2 },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(calls(fake).filter((c) => c === 'auth POST /v1/tokens/exchange')).toHaveLength(3);
  });

  it('429 with a plain-text "Retry later" body, honouring Retry-After', async () => {
    const { fake, result } = await pushWith([
      { kind: 'rate-limit', method: 'GET', path: '/v1/apps/my-app', retryAfter: 1 },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    const appReads = fake.requests.filter((r) => r.method === 'GET' && r.path === '/v1/apps/my-app');
    expect(appReads).toHaveLength(2);
    expect(appReads[1]!.at - appReads[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('a connection reset on a read', async () => {
    const { fake, result } = await pushWith([
      { kind: 'reset-before', method: 'GET', path: '/v1/apps/my-app/scm_repo_link' },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
  });

  it('a slow answer past the request timeout', async () => {
    const { fake, result } = await pushWith(
      [{ kind: 'delay', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', ms: 1500 }],
      { 'request-timeout-seconds': '0.5' },
    );
    expectOneDeploymentThatSucceeded(fake, result);
    expect(result.log).toMatch(/debug: GET \/v1\/apps\/my-app\/scm_repo_link: UND_ERR_HEADERS_TIMEOUT, attempt 2/);
  });

  it('a read still unanswered at the deadline stops the run as timed out, before anything is started', async () => {
    const { fake, result } = await pushWith(
      [{ kind: 'delay', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', ms: 8000 }],
      { 'timeout-minutes': '0.05', 'request-timeout-seconds': '30' },
    );
    expect(result.report.ok).toBe(false);
    expect(result.outputs['timed-out']).toBe('true');
    expect(result.report.message).toMatch(
      /Stopped at the deadline \(3 s, timeout-minutes\): .*GET \/v1\/apps\/my-app\/scm_repo_link/,
    );
    expect(fake.deploymentsCreated()).toHaveLength(0);
    expect(writes(fake)).toEqual([]);
  });

  it('a retry is cut short by the deadline, not by its own request timeout', async () => {
    // A fast 503, then a retry that the server never answers: the 30 s request timeout would end it well past the
    // 3 s deadline.
    const { fake, result } = await pushWith(
      [
        { kind: 'status', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', status: 503, times: 1 },
        { kind: 'delay', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', ms: 8000, after: 1 },
      ],
      { 'timeout-minutes': '0.05' },
    );
    expect(result.report.ok).toBe(false);
    expect(calls(fake).filter((c) => c === 'api GET /v1/apps/my-app/scm_repo_link')).toHaveLength(2);
    expect(result.outputs['timed-out']).toBe('true');
    expect(result.report.message).toContain(
      'Stopped at the deadline (3 s, timeout-minutes): Scalingo did not answer GET /v1/apps/my-app/scm_repo_link before the deadline: retry later, or raise `timeout-minutes`.',
    );
    expect(writes(fake)).toEqual([]);
  });

  it('an empty 502 body still gives a readable message', async () => {
    const { result } = await pushWith([
      { kind: 'status', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', status: 502, body: '', times: Infinity },
    ]);
    expect(result.report.ok).toBe(false);
    expect(result.report.message).toContain(
      "Scalingo's API failed on GET /v1/apps/my-app/scm_repo_link (502) (Scalingo said: still failing after 5 attempts): the platform has a problem; retry later",
    );
  });

  it('gives up after 5 attempts, saying what the API answered', async () => {
    const { fake, result } = await pushWith([
      { kind: 'html', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', status: 502, times: Infinity },
    ]);
    expect(result.report.ok).toBe(false);
    expect(calls(fake).filter((c) => c === 'api GET /v1/apps/my-app/scm_repo_link')).toHaveLength(5);
    expect(result.report.message).toContain(
      "Scalingo's API failed on GET /v1/apps/my-app/scm_repo_link (502) (Scalingo said: <html><body><h1>502 Bad Gateway</h1></body></html>, still failing after 5 attempts): the platform has a problem; retry later",
    );
    expect(fake.deploymentsCreated()).toHaveLength(0);
  });
});

describe('a deploy is never sent twice blindly', () => {
  it.each([
    ['500, not processed', { kind: 'status' as const, status: 500 }],
    ['502 HTML page, not processed', { kind: 'html' as const, status: 502 }],
    ['connection reset before processing', { kind: 'reset-before' as const }],
    ['malformed JSON answer, not processed', { kind: 'malformed-json' as const }],
  ])('%s: checks the deployments, finds none, sends it once more', async (_name, fault) => {
    const { fake, result } = await pushWith([{ ...fault, method: 'POST', path: DEPLOY }], {
      'request-timeout-seconds': '0.4',
    });
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
    expect(calls(fake)).toContain('api GET /v1/apps/my-app/deployments?page=1&per_page=10');
    expect(result.log).toContain('checking whether it took effect before anything else');
    expect(result.log).toContain('It did not: sending it once more');
  });

  it.each([
    ["a gateway's 502 page", { kind: 'html' as const, status: 502 }, true],
    ['a connection reset before any answer', { kind: 'reset-before' as const }, true],
    ['a 500 from Scalingo itself', { kind: 'status' as const, status: 500 }, false],
    ['a malformed answer', { kind: 'malformed-json' as const }, false],
  ])(
    'after %s, the deploy is looked for during a request timeout before it is sent again: %s',
    async (_name, fault, waits) => {
      const { fake, result } = await pushWith([{ ...fault, method: 'POST', path: DEPLOY }], {
        'request-timeout-seconds': '0.4',
      });
      const sends = fake.requests.filter((r) => r.method === 'POST' && r.path === DEPLOY).map((r) => r.at);
      expect(sends).toHaveLength(2);
      expect(result.log.includes('Not yet: looking again, in case the server is only slow')).toBe(waits);
      if (waits) expect(sends[1]! - sends[0]!).toBeGreaterThanOrEqual(400);
    },
  );

  it('a deploy Scalingo processes after the request timed out is found by the looks that follow: one deployment', async () => {
    // Processed 2.5 s after it was sent, past the 1 s request timeout: the looks go on for two timeouts after it.
    const { fake, result } = await pushWith([{ kind: 'delay', method: 'POST', path: DEPLOY, ms: 2500 }], {
      'request-timeout-seconds': '1',
    });
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(1);
    expect(result.log).toContain('It did: carrying on with it');
  });

  it('connection reset after processing: finds the deployment it started and follows it', async () => {
    const { fake, result } = await pushWith([{ kind: 'reset-after', method: 'POST', path: DEPLOY }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(1);
    expect(result.log).toContain('It did: carrying on with it');
  });

  it('an answer slower than the timeout: waits for the slow server instead of deploying again', async () => {
    // undici's timers are coarse: the 0.5 s timeout fires between 0.5 and 1.5 s; the server answers at 1.2 s.
    const { fake, result } = await pushWith([{ kind: 'delay', method: 'POST', path: DEPLOY, ms: 1200 }], {
      'request-timeout-seconds': '0.5',
    });
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(1);
    expect(result.log).toContain('No clear answer (UND_ERR_HEADERS_TIMEOUT): checking whether it took effect');
    expect(result.log).toContain('It did: carrying on with it');
  });

  it('a deploy still unanswered when the deadline comes is not sent again', async () => {
    // The server takes 6 s; the request times out after 2 s, the look for its effect lasts to the 3 s deadline.
    const { fake, result } = await pushWith([{ kind: 'delay', method: 'POST', path: DEPLOY, ms: 6000 }], {
      'timeout-minutes': '0.05',
      'request-timeout-seconds': '2',
    });
    expect(result.report.ok).toBe(false);
    expect(deploysSent(fake)).toBe(1);
    expect(result.outputs['timed-out']).toBe('true');
    expect(result.report.message).toContain(
      'The deploy of branch master of my-app got no clear answer (UND_ERR_HEADERS_TIMEOUT) and showed no effect before the deadline (3 s, timeout-minutes): not sent again, so that it is not done twice; check https://dashboard.scalingo.com/apps/osc-fr1/my-app before running this again.',
    );
  });

  it('429 on the deploy: rate limited, so surely not processed, sent again after Retry-After', async () => {
    const { fake, result } = await pushWith([{ kind: 'rate-limit', method: 'POST', path: DEPLOY, retryAfter: 0 }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
    expect(result.log).not.toContain('checking whether it took effect');
  });

  it('a review app creation that timed out after processing is not sent again', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      faults: [{ kind: 'reset-after', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app' }],
    });
    const r = await w.run({
      ctx: onGitHub(
        'pull_request',
        'refs/pull/2/merge',
        webhook('pull_request', (p) => p.action === 'opened'),
      ),
    });
    expect(r.report.ok).toBe(true);
    expect(calls(w.fake).filter((c) => c.endsWith('/manual_review_app'))).toHaveLength(1);
    expect(w.fake.deploymentsCreated()).toHaveLength(1);
    expect(r.outputs['review-app']).toBe('my-app-pr2');
  });

  it('a link creation whose answer was lost is found and not sent again', async () => {
    const w = await world({
      links: {},
      faults: [{ kind: 'reset-after', method: 'POST', path: '/v1/apps/my-app/scm_repo_link' }],
    });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))) });
    expect(r.report.ok).toBe(true);
    expect(
      writes(w.fake).filter((x) => x.method === 'POST' && x.path === '/v1/apps/my-app/scm_repo_link'),
    ).toHaveLength(1);
    expect(r.outputs.link).toBe('created');
  });
});

describe('following', () => {
  it('survives the status endpoint being down for a while', async () => {
    const { fake, result } = await pushWith([{ kind: 'status', method: 'GET', path: STATUS, status: 503, times: 7 }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(result.log).toContain('status not read (HTTP 503): trying again');
  });

  it('survives malformed JSON and HTML pages from the status endpoint', async () => {
    const { fake, result } = await pushWith([
      { kind: 'malformed-json', method: 'GET', path: STATUS, times: 1 },
      { kind: 'html', method: 'GET', path: STATUS, status: 200, times: 1 },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    // Tried again by the request itself, like a lost answer.
    expect(result.log).toMatch(/debug: GET \/v1\/apps\/my-app\/deployments\/\S+: unreadable answer, attempt 2/);
  });

  it('treats an unknown final status as a failure, and says so', async () => {
    const { fake, result } = await pushWith([
      { kind: 'unknown-status', method: 'GET', path: STATUS, value: 'exploded', after: 1 },
    ]);
    expect(result.report.ok).toBe(false);
    expect(fake.deploymentsCreated()).toHaveLength(1);
    expect(result.outputs['deployment-status']).toBe('exploded');
    expect(result.report.message).toContain(
      'ended with status exploded (a status this step does not know: counted as a failure)',
    );
  });

  it('gets a new bearer once on a 401 in the middle of a run', async () => {
    const { fake, result } = await pushWith([{ kind: 'status', method: 'GET', path: STATUS, status: 401, after: 1 }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(calls(fake).filter((c) => c === 'auth POST /v1/tokens/exchange')).toHaveLength(2);
    expect(result.log).toContain('-> 401: exchanging the API token again and retrying once');
  });

  it('exchanges the token again before the bearer expires', async () => {
    const { fake, result } = await pushWith([], { 'poll-interval-seconds': '0.5' }, { bearerTtlSeconds: 2 });
    expectOneDeploymentThatSucceeded(fake, result);
    // A 2-second bearer is renewed after half its life: more than once in this run, yet not before every call.
    const exchanges = calls(fake).filter((c) => c === 'auth POST /v1/tokens/exchange').length;
    const apiCalls = calls(fake).filter((c) => c.startsWith('api ')).length;
    expect(exchanges).toBeGreaterThan(1);
    expect(exchanges).toBeLessThan(apiCalls);
  });

  it('stops when cancelled, says which deployment still runs, sets the outputs it knows and fails', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building'] });
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
      inputs: { 'poll-interval-seconds': '0.2' },
      abortWhen: /building \(/,
    });
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.report.ok).toBe(false);
    expect(r.report.message).toContain(
      `Cancelled while following: deployment ${id} of my-app is still building on Scalingo, see https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}.`,
    );
    expect(r.outputs).toMatchObject({
      'deployment-id': id,
      'deployment-status': 'building',
      'timed-out': 'false',
      app: 'my-app',
    });
  });
});

describe('cancellation before following', () => {
  it('while reading the link: nothing was changed', async () => {
    const { fake, result } = await pushWith(
      [{ kind: 'delay', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', ms: 3000 }],
      {},
      {},
      /group: Link/,
    );
    expect(result.report.ok).toBe(false);
    expect(result.report.message).toContain('Cancelled before anything was changed or started on Scalingo.');
    expect(fake.deploymentsCreated()).toHaveLength(0);
  });

  it('while the link update is under way: says it may have taken effect, and where to look', async () => {
    const { fake, result } = await pushWith(
      [{ kind: 'delay', method: 'PATCH', path: '/v1/apps/my-app/scm_repo_link', ms: 3000 }],
      { 'auto-deploy': 'true' },
      {},
      /auto_deploy_enabled: false -> true/,
    );
    expect(result.report.ok).toBe(false);
    expect(result.report.message).toContain(
      'Cancelled after the link update was requested, before anything was deployed: it may have taken effect, check the link of the app in https://dashboard.scalingo.com/apps/osc-fr1/my-app.',
    );
    expect(result.outputs.link).toBe('');
    expect(fake.deploymentsCreated()).toHaveLength(0);
  });

  it('while the deploy request is under way: says it may run, and where to look', async () => {
    const { result } = await pushWith(
      [{ kind: 'delay', method: 'POST', path: DEPLOY, ms: 3000 }],
      {},
      {},
      /group: Deploy branch/,
    );
    expect(result.report.ok).toBe(false);
    expect(result.report.message).toContain(
      'Cancelled after the deploy of branch master of my-app was requested, before a deployment was followed: see https://dashboard.scalingo.com/apps/osc-fr1/my-app for what runs.',
    );
  });
});

describe('concurrency', () => {
  it('a link deleted by someone else between the read and the update is read again and re-planned once', async () => {
    let deleted = false;
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } },
      onRequest: (record: { method: string; path: string }) => {
        if (!deleted && record.method === 'GET' && record.path === '/v1/apps/my-app/scm_repo_link') {
          deleted = true;
          delete w.fake.state.links['my-app'];
        }
      },
    });
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
      inputs: { 'auto-deploy': 'false' },
    });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake).map((x) => `${x.method} ${x.path}`)).toEqual([
      'PATCH /v1/apps/my-app/scm_repo_link',
      'POST /v1/apps/my-app/scm_repo_link',
      'POST /v1/apps/my-app/scm_repo_link/manual_deploy',
    ]);
    expect(r.log).toContain('The link changed while this run was updating it');
    expect(r.outputs.link).toBe('created');
  });
});

describe('answers cut in the middle of their body (connection lost after the headers)', () => {
  it('on a read: tried again like a reset, never reported as an answer', async () => {
    const { fake, result } = await pushWith([
      { kind: 'cut-body', method: 'GET', path: '/v1/apps/my-app/scm_repo_link' },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(calls(fake).filter((c) => c === 'api GET /v1/apps/my-app/scm_repo_link')).toHaveLength(2);
    expect(result.log).toMatch(/debug: GET \/v1\/apps\/my-app\/scm_repo_link: UND_ERR_BODY_CUT, attempt 2/);
    expect(result.log).not.toMatch(/answered 200/);
  });

  it('on the status poll: tried again', async () => {
    const { fake, result } = await pushWith([{ kind: 'cut-body', method: 'GET', path: STATUS, times: 2 }]);
    expectOneDeploymentThatSucceeded(fake, result);
  });

  it('on manual_deploy: the deployment it started is found and followed, not sent again', async () => {
    const { fake, result } = await pushWith([{ kind: 'cut-body', method: 'POST', path: DEPLOY }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(1);
    expect(result.log).toContain(
      'No clear answer (answer cut short): checking whether it took effect before anything else',
    );
    expect(result.log).toContain('It did: carrying on with it');
    expect(`${result.log}\n${result.report.message}`).not.toMatch(/answered 200|server error/);
  });
});

describe('a status that cannot be read', () => {
  it('malformed on every read until the deadline: says the status could not be read, quoting the answer, not "still queued"', async () => {
    const { result } = await pushWith([{ kind: 'malformed-json', method: 'GET', path: STATUS, times: Infinity }], {
      'timeout-minutes': '0.02',
      logs: 'false',
    });
    expect(result.report).toMatchObject({ ok: false, outcome: 'timed-out' });
    expect(result.report.message).toMatch(
      /^The status of deployment \S+ of my-app could not be read before the deadline \(1 s, timeout-minutes\): Scalingo answered GET \/v1\/apps\/my-app\/deployments\/\S+ with malformed JSON \(HTTP 200\): /,
    );
    expect(result.report.message).toContain(
      String.raw`"{\"deployment\": {\"id\": \"abc\","; it was queued when last read. It goes on on Scalingo, see https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/`,
    );
    expect(result.report.message).not.toContain('was still queued after');
  });
});

describe("the deployment a run adopts is the one it started (Scalingo's last_deployment_id is the last SUCCESSFUL one)", () => {
  const seeded = { deployments: { 'my-app': [{ status: 'success' }, { status: 'build-error' }] } };

  it('reads the newest deployment alongside the app before triggering', async () => {
    const { fake, result } = await pushWith([], {}, seeded);
    expectOneDeploymentThatSucceeded(fake, result);
    const trigger = calls(fake).indexOf(`api POST ${DEPLOY}`);
    expect(calls(fake).slice(0, trigger)).toEqual(
      expect.arrayContaining(['api GET /v1/apps/my-app', 'api GET /v1/apps/my-app/deployments?page=1&per_page=1']),
    );
    expect(writes(fake).filter((w) => w.path === DEPLOY)).toEqual([
      { method: 'POST', path: DEPLOY, body: { branch: 'master' } },
    ]);
  });

  it.each([
    ['a 500 not processed', { kind: 'status' as const, status: 500 }],
    ['a reset before processing', { kind: 'reset-before' as const }],
  ])('after %s, an older failed deployment is not adopted: the deploy is sent again', async (_name, fault) => {
    const { fake, result } = await pushWith(
      [{ ...fault, method: 'POST', path: DEPLOY }],
      { 'request-timeout-seconds': '0.4' },
      seeded,
    );
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
    expect(result.log).toContain('It did not: sending it once more');
  });

  it('after a lost answer, an older success is not adopted either', async () => {
    const { fake, result } = await pushWith(
      [{ kind: 'status', method: 'POST', path: DEPLOY, status: 502 }],
      { 'request-timeout-seconds': '0.4' },
      { deployments: { 'my-app': [{ status: 'success', ageMs: 5000 }] } },
    );
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
  });

  it('two lost answers in a row on manual_deploy: both are checked before any resend, one deployment', async () => {
    const { fake, result } = await pushWith(
      [
        { kind: 'status', method: 'POST', path: DEPLOY, status: 503 },
        { kind: 'reset-after', method: 'POST', path: DEPLOY, after: 1 },
      ],
      {},
      seeded,
    );
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
    expect(result.log.match(/checking whether it took effect/g)).toHaveLength(2);
    expect(result.log).toContain('It did: carrying on with it');
  });

  it('the effect check rides a 5xx outage out instead of giving up after a few seconds', async () => {
    const { fake, result } = await pushWith([
      { kind: 'reset-after', method: 'POST', path: DEPLOY },
      { kind: 'status', method: 'GET', path: '/v1/apps/my-app/deployments', status: 503, after: 1, times: 6 },
    ]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(1);
    expect(result.log).toContain('Could not look (HTTP 503): looking again');
  });
});

describe('deadline and rate limit', () => {
  it('a write never runs past the deadline by its request timeout', async () => {
    const started = Date.now();
    const { fake, result } = await pushWith([{ kind: 'delay', method: 'POST', path: DEPLOY, ms: 20_000 }], {
      'timeout-minutes': '0.05',
      'request-timeout-seconds': '30',
    });
    expect(Date.now() - started).toBeLessThan(3000 + 4000);
    expect(result.report.ok).toBe(false);
    expect(result.outputs['timed-out']).toBe('true');
    expect(deploysSent(fake)).toBe(1);
    expect(result.outputs['deployment-id']).toBe('');
  });

  it('429 in plain text without Retry-After on the deploy: waits and sends it again (a 429 was not processed)', async () => {
    const { fake, result } = await pushWith([{ kind: 'rate-limit', method: 'POST', path: DEPLOY }]);
    expectOneDeploymentThatSucceeded(fake, result);
    expect(deploysSent(fake)).toBe(2);
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path === DEPLOY);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(result.log).not.toContain('checking whether it took effect');
  });

  it('a region typo (a host that does not resolve) fails at once, naming the URL and the region', async () => {
    const started = Date.now();
    const { fake, result } = await pushWith([], {
      'api-url': 'https://api.osc-fr9.scalingo.invalid',
      region: 'osc-fr9',
      'poll-interval-seconds': '1',
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.report.ok).toBe(false);
    expect(result.report.message).toMatch(
      /^Host api\.osc-fr9\.scalingo\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)\): check `region` \(osc-fr9\) or `api-url`: the URL is https:\/\/api\.osc-fr9\.scalingo\.invalid\.$/,
    );
    expect(result.log).not.toMatch(/attempt 2/);
    expect(fake.deploymentsCreated()).toHaveLength(0);
  });
});
