/** The one classifier of API failures: what a 404 names, and whether a failure may pass, or a write took effect. */
import { describe, expect, it } from 'vitest';
import {
  describeFailure, isAmbiguous, isTimeout, isTransient, isUnknownApp, NetworkError, notFound, ScalingoApiError, UnexpectedResponseError,
} from '../../src/scalingo/errors.js';

const api = (status: number, path = '/v1/apps/my-app/scm_repo_link', resource?: string, method = 'GET') =>
  new ScalingoApiError(status, method, path, '', resource ? { resource } : {});

describe('notFound', () => {
  it('reads what a 404 names: the app, another resource, or nothing', () => {
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link', 'app'))).toBe('app');
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link', 'scm_repo_link'))).toBe('other');
    expect(notFound(api(404, '/v1/apps/my-app/scm_repo_link'))).toBe('unnamed');
  });

  it('a 404 on the app\'s own path is about the app, whatever its body says', () => {
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
    [api(429), true], [api(500), true], [api(503), true], [api(404), false], [api(422), false], [api(401), false],
    [new NetworkError('GET', '/x', 'ECONNREFUSED', true), true], [new UnexpectedResponseError(200, 'GET', '/x', 'malformed JSON', '{'), true],
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
    expect(describeFailure(new UnexpectedResponseError(200, 'GET', '/x', 'malformed JSON', '{'))).toBe('unreadable answer');
    expect(describeFailure(new Error('odd'))).toBe('odd');
  });
});
