/** The one classifier of API failures: what a 404 names, and whether a failure may pass, or a write took effect. */
import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  isAmbiguous,
  isTimeout,
  isTransient,
  isUnknownApp,
  NetworkError,
  notFound,
  ScalingoApiError,
  UnexpectedResponseError,
} from '../../src/scalingo/errors.js';
import { explain } from '../../src/core/explain.js';

const api = (status: number, path = '/v1/apps/my-app/scm_repo_link', resource?: string, method = 'GET') =>
  new ScalingoApiError(status, method, path, '', resource ? { resource } : {});

describe('notFound', () => {
  it('reads what a 404 names: the app, another resource, or nothing', () => {
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link', 'app'))).toBe('app');
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link', 'scm_repo_link'))).toBe('other');
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link'))).toBe('unnamed');
  });

  it("a 404 on the app's own path is about the app, whatever its body says", () => {
    expect(notFound(api(404, '/v1/apps/my-app'))).toBe('app');
    expect(notFound(api(404, '/v1/apps/my-app', 'deployment'))).toBe('app');
    expect(isUnknownApp(api(404, '/v1/apps/my-app'))).toBe(true);
  });

  it('is undefined for anything but a 404', () => {
    expect(notFound(api(403, '/v1/apps/my-app'))).toBeUndefined();
    expect(notFound(new NetworkError('GET', '/v1/apps/my-app', 'ECONNRESET', false))).toBeUndefined();
    expect(notFound(new Error('x'))).toBeUndefined();
    expect(isUnknownApp(api(404, '/v1/apps/my-app/scm_repo_link', 'scm_repo_link'))).toBe(false);
  });
});

describe('isTransient (may a read be tried again?)', () => {
  it.each([
    [api(429), true],
    [api(500), true],
    [api(503), true],
    [api(404), false],
    [api(422), false],
    [api(401), false],
    [new NetworkError('GET', '/x', 'ECONNREFUSED', true), true],
    [new UnexpectedResponseError(200, 'GET', '/x', 'malformed JSON', '{'), true],
    [new Error('bug'), false],
  ])('%s: %s', (err, expected) => {
    expect(isTransient(err)).toBe(expected);
  });
});

describe('isAmbiguous (may a failed write have been processed?)', () => {
  it.each([
    ['a 5xx', api(502, '/x', undefined, 'POST'), true],
    ['a garbled answer', new UnexpectedResponseError(201, 'POST', '/x', 'malformed JSON', '{'), true],
    ['a reset after sending', new NetworkError('POST', '/x', 'ECONNRESET', false), true],
    ['a timeout', new NetworkError('POST', '/x', 'UND_ERR_HEADERS_TIMEOUT', false), true],
    ['a refused connection (never sent)', new NetworkError('POST', '/x', 'ECONNREFUSED', true), false],
    ['a 429 (refused before processing)', api(429, '/x', undefined, 'POST'), false],
    ['a 422', api(422, '/x', undefined, 'POST'), false],
  ])('%s: %s', (_name, err, expected) => {
    expect(isAmbiguous(err)).toBe(expected);
  });
});

describe('isTimeout and describeFailure', () => {
  it('knows a timeout from other network failures', () => {
    expect(isTimeout(new NetworkError('POST', '/x', 'UND_ERR_HEADERS_TIMEOUT', false))).toBe(true);
    expect(isTimeout(new NetworkError('POST', '/x', 'UND_ERR_BODY_TIMEOUT', false))).toBe(true);
    expect(isTimeout(new NetworkError('POST', '/x', 'ECONNRESET', false))).toBe(false);
    expect(isTimeout(api(504))).toBe(false);
  });

  it('says a failure in a few words', () => {
    expect(describeFailure(api(502))).toBe('HTTP 502');
    expect(describeFailure(new NetworkError('GET', '/x', 'ECONNRESET', false))).toBe('ECONNRESET');
    expect(describeFailure(new UnexpectedResponseError(200, 'GET', '/x', 'malformed JSON', '{'))).toBe(
      'unreadable answer',
    );
    expect(describeFailure(new Error('odd'))).toBe('odd');
  });
});

describe('failures that are not passing', () => {
  it('a host that does not resolve is not transient; an answer cut short is, and is ambiguous for a write', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN'])
      expect(isTransient(new NetworkError('GET', '/v1/apps/a', code, true)), code).toBe(false);
    const cut = new NetworkError('POST', '/v1/apps/a/scm_repo_link/manual_deploy', 'UND_ERR_BODY_CUT', false);
    expect(isTransient(cut)).toBe(true);
    expect(isAmbiguous(cut)).toBe(true);
    expect(describeFailure(cut)).toBe('answer cut short');
  });
});

describe('explain: a 404 on a link action', () => {
  const ctx = {
    app: 'my-app',
    region: 'osc-fr1',
    apiUrl: 'https://api.osc-fr1.scalingo.com',
    authUrl: 'https://auth.scalingo.com',
  };
  const deploy = '/v1/apps/my-app/scm_repo_link/manual_deploy';

  it('means "no link" only when the body names the link (or nothing, on an action that is not a deploy)', () => {
    expect(
      explain(new ScalingoApiError(404, 'POST', deploy, 'scm_repo_link not found', { resource: 'scm_repo_link' }), ctx),
    ).toMatch(/^App "my-app" has no SCM link/);
    expect(
      explain(new ScalingoApiError(404, 'GET', '/v1/apps/my-app/scm_repo_link/review_apps', 'not found'), ctx),
    ).toMatch(/^App "my-app" has no SCM link/);
    expect(explain(new ScalingoApiError(404, 'POST', deploy, 'branch not found', { resource: 'branch' }), ctx)).toBe(
      `Scalingo found no branch for POST ${deploy} (404) (Scalingo said: branch not found): the app's link is there; check that this branch exists.`,
    );
  });

  it('a 404 naming nothing on manual_deploy or manual_review_app is about what was sent, quoted, not a missing link', () => {
    expect(explain(new ScalingoApiError(404, 'POST', deploy, 'not found'), ctx)).toBe(
      `Scalingo answered 404 to POST ${deploy} (Scalingo said: not found), though the app's link is there: Scalingo does not know the branch sent; check that it exists in the linked repository.`,
    );
    expect(explain(new ScalingoApiError(404, 'POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', ''), ctx)).toBe(
      "Scalingo answered 404 to POST /v1/apps/my-app/scm_repo_link/manual_review_app, though the app's link is there: Scalingo does not know the pull request number sent; check that it exists in the linked repository.",
    );
  });

  it('a 402 names what Scalingo asks payment for, and where', () => {
    const trial = new ScalingoApiError(402, 'POST', deploy, 'free trial exceeded', {
      name: 'free-trial-exceeded',
      url: 'https://dashboard.scalingo.com/billing',
    });
    expect(explain(trial, ctx)).toBe(
      `Scalingo asks for payment on POST ${deploy} (402 free-trial-exceeded) (Scalingo said: free trial exceeded): add a payment method or upgrade at https://dashboard.scalingo.com/billing.`,
    );
    expect(explain(new ScalingoApiError(402, 'POST', deploy, ''), ctx)).toBe(
      `Scalingo asks for payment on POST ${deploy} (402): add a payment method or upgrade at https://dashboard.scalingo.com/billing.`,
    );
  });

  it('a request that timed out on every attempt says so, and which input to raise', () => {
    expect(explain(new NetworkError('GET', '/v1/apps/my-app', 'UND_ERR_HEADERS_TIMEOUT', false), ctx)).toBe(
      'Scalingo did not answer GET /v1/apps/my-app within `request-timeout-seconds` (UND_ERR_HEADERS_TIMEOUT), retries included: retry later, or raise `request-timeout-seconds`.',
    );
  });

  it('a host that does not resolve names the URL and the region', () => {
    expect(
      explain(new NetworkError('GET', '/v1/apps/my-app', 'ENOTFOUND', true), {
        ...ctx,
        region: 'osc-fr9',
        apiUrl: 'https://api.osc-fr9.scalingo.com',
      }),
    ).toBe(
      'Host api.osc-fr9.scalingo.com does not resolve (ENOTFOUND): check `region` (osc-fr9) or `api-url`: the URL is https://api.osc-fr9.scalingo.com.',
    );
  });
});
