// @ts-check
/**
 * @file The project's fake Scalingo, asked for every documented answer (test/contract/fixtures/): it is started
 * in-process on 127.0.0.1, set up so that every list has elements, and sent the requests the product sends, raw. The
 * error answers are provoked as the product meets them (a bad token, an unknown app, an invalid link, the rate limit)
 * or, where the fake can only be told to fail (402, 500), with its fault rules.
 */
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { frameExample, FRAME_STATUS } from './fixtures.js';
import { isRecord } from './shape.js';
import { basic, call, openStream } from './wire.js';

/** @typedef {import('./wire.js').RawAnswer} RawAnswer */
/** @typedef {import('./wire.js').StreamFrame} StreamFrame */

/**
 * An answer of the fake, as compared with a fixture.
 * @typedef {object} FakeAnswer
 * @property {string} request What was sent, e.g. `GET /v1/apps/my-app`.
 * @property {number} status
 * @property {'json' | 'text' | 'empty'} content
 * @property {unknown} body
 */

export const FAKE_TOKEN = 'tk-us-contract-0123456789abcdef';
/** The Origin header Scalingo's Go client sends on the deployments stream. */
export const STREAM_ORIGIN = 'http://scalingo-cli.local/1';
const SOURCE = 'https://github.com/octo-org/octo-repo';

/**
 * The fake as the contract reads it: one linked app with past deployments and a review app, a second linked app, two
 * apps without a link, deployments that move with time (so that the stream has something to say), quick pings.
 * @returns {import('../support/fake-scalingo.js').FakeScalingoStartOptions}
 */
export function contractFakeOptions() {
  return {
    tokens: [FAKE_TOKEN],
    apps: { 'my-app': {}, 'other-app': {}, 'new-app': {}, 'bad-app': {} },
    links: { 'my-app': { source: SOURCE }, 'other-app': { source: 'https://github.com/octo-org/other-repo' } },
    deployScript: { durationMs: 400, final: 'success' },
    deployments: { 'my-app': [{ status: 'build-error' }, { status: 'success' }] },
    pulls: { 42: { head_branch: 'feature/login' }, 7: { head_branch: 'fix/typo' } },
    reviewApps: [{ pr: 42, parent: 'my-app' }],
    stream: { advertise: true, options: { pingIntervalMs: 100 } },
  };
}

/**
 * @param {RawAnswer} raw
 * @returns {FakeAnswer}
 */
const answerOf = (raw) => ({
  request: `${raw.method} ${raw.path.split('?')[0]}`,
  status: raw.status,
  content: raw.content,
  body: raw.body,
});

/**
 * @param {StreamFrame} frame
 * @param {string} url
 * @returns {FakeAnswer}
 */
const frameAnswer = (frame, url) => ({
  request: `frame on ${new URL(url).pathname}`,
  status: FRAME_STATUS,
  content: 'json',
  body: frame.json,
});

/**
 * Asks a started fake for every documented answer.
 * @returns {Promise<Map<string, FakeAnswer[]>>}
 */
export async function collectFakeAnswers() {
  const fake = await startFakeScalingo(contractFakeOptions());
  try {
    return await askFake(fake);
  } finally {
    await fake.close();
  }
}

/**
 * @param {import('../support/fake-scalingo.js').FakeScalingo} fake
 * @returns {Promise<Map<string, FakeAnswer[]>>}
 */
async function askFake(fake) {
  /** @type {Map<string, FakeAnswer[]>} */
  const answers = new Map();
  /** @param {string} name @param {FakeAnswer} answer */
  const add = (name, answer) => answers.set(name, [...(answers.get(name) ?? []), answer]);
  const { authUrl, apiUrl } = fake;

  const exchange = await call(authUrl, 'POST', '/v1/tokens/exchange', { authorization: basic(FAKE_TOKEN), body: {} });
  add('token-exchange', answerOf(exchange));
  const bearer = isRecord(exchange.body) && typeof exchange.body.token === 'string' ? exchange.body.token : '';
  const authorization = `Bearer ${bearer}`;
  /** @param {'auth' | 'api'} service @param {string} method @param {string} path @param {unknown} [body] */
  const ask = (service, method, path, body) =>
    call(service === 'auth' ? authUrl : apiUrl, method, path, { authorization, body });

  add(
    'error-401',
    answerOf(
      await call(authUrl, 'POST', '/v1/tokens/exchange', { authorization: basic('tk-us-not-a-token'), body: {} }),
    ),
  );
  add('error-401', answerOf(await call(apiUrl, 'GET', '/v1/apps/my-app', { authorization: 'Bearer not-a-bearer' })));

  add('users-self', answerOf(await ask('auth', 'GET', '/v1/users/self')));
  const integrations = await ask('auth', 'GET', '/v1/scm_integrations');
  add('integrations-list', answerOf(integrations));
  const app = await ask('api', 'GET', '/v1/apps/my-app');
  add('app-show', answerOf(app));

  const deployments = await ask('api', 'GET', '/v1/apps/my-app/deployments?page=1&per_page=10');
  add('deployments-list', answerOf(deployments));
  add('deployments-list', answerOf(await ask('api', 'GET', '/v1/apps/my-app/deployments?page=1&per_page=1')));
  const past =
    isRecord(deployments.body) && Array.isArray(deployments.body.deployments) ? deployments.body.deployments : [];
  const pastId = isRecord(past[0]) ? String(past[0].id) : 'none';
  add('deployment-show', answerOf(await ask('api', 'GET', `/v1/apps/my-app/deployments/${pastId}`)));
  add('deployment-output', answerOf(await ask('api', 'GET', `/v1/apps/my-app/deployments/${pastId}/output`)));

  add('link-show', answerOf(await ask('api', 'GET', '/v1/apps/my-app/scm_repo_link')));
  add('link-show', answerOf(await ask('api', 'GET', '/v1/apps/my-app-pr42/scm_repo_link')));
  add('links-list', answerOf(await ask('api', 'GET', '/v1/scm_repo_links?page=1&per_page=50')));
  add('links-list', answerOf(await ask('api', 'GET', '/v1/scm_repo_links?page=1&per_page=1')));
  add('review-apps-list', answerOf(await ask('api', 'GET', '/v1/apps/my-app/scm_repo_link/review_apps')));

  // The stream, opened as the Go client opens it, around a manual deploy followed to its end.
  const streamUrl =
    isRecord(app.body) && isRecord(app.body.app) && isRecord(app.body.app.links)
      ? String(app.body.app.links.deployments_stream ?? '')
      : '';
  if (streamUrl === '') throw new Error('the fake gives my-app no links.deployments_stream');
  const stream = await openStream(streamUrl, { origin: STREAM_ORIGIN });
  try {
    const auth = frameExample('auth');
    if (isRecord(auth.data)) auth.data.token = bearer;
    stream.send(JSON.stringify(auth));
    const deploy = await ask('api', 'POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' });
    add('manual-deploy', answerOf(deploy));
    const id = isRecord(deploy.body) && isRecord(deploy.body.deployment) ? deploy.body.deployment.id : undefined;
    const isFinal = (/** @type {StreamFrame} */ f) =>
      isRecord(f.json) &&
      f.json.type === 'status' &&
      f.json.id === id &&
      isRecord(f.json.data) &&
      !['queued', 'building', 'pushing', 'starting'].includes(String(f.json.data.status));
    await stream.waitFor(isFinal, 10_000);
    await stream.waitFor((f) => isRecord(f.json) && f.json.type === 'ping', 5_000);
    const accepted = fake.stream?.auths.some((a) => a.accepted && a.token === bearer) ?? false;
    add('stream-auth', {
      request: `auth frame on ${new URL(streamUrl).pathname}`,
      status: accepted ? FRAME_STATUS : 0,
      content: 'json',
      body: auth,
    });
    for (const frame of stream.frames) {
      const type = isRecord(frame.json) ? frame.json.type : undefined;
      add(`stream-${typeof type === 'string' ? type : 'unreadable'}`, frameAnswer(frame, streamUrl));
    }
  } finally {
    await stream.close();
  }

  add(
    'manual-review-app',
    answerOf(await ask('api', 'POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 7 })),
  );

  const integrationList =
    isRecord(integrations.body) && Array.isArray(integrations.body.scm_integrations)
      ? integrations.body.scm_integrations
      : [];
  const integration = isRecord(integrationList[0]) ? String(integrationList[0].id) : '';
  add(
    'link-create',
    answerOf(
      await ask('api', 'POST', '/v1/apps/new-app/scm_repo_link', {
        scm_repo_link: { source: SOURCE, auth_integration_uuid: integration },
      }),
    ),
  );
  add(
    'link-update',
    answerOf(
      await ask('api', 'PATCH', '/v1/apps/my-app/scm_repo_link', { scm_repo_link: { auto_deploy_enabled: false } }),
    ),
  );
  add('link-delete', answerOf(await ask('api', 'DELETE', '/v1/apps/new-app/scm_repo_link')));

  add('error-404', answerOf(await ask('api', 'GET', '/v1/apps/no-such-app')));
  add('error-404', answerOf(await ask('api', 'GET', '/v1/apps/no-such-app/scm_repo_link')));
  add('error-404-unnamed', answerOf(await ask('api', 'GET', '/v1/apps/my-app/no-such-thing')));
  add('error-422', answerOf(await ask('api', 'POST', '/v1/apps/bad-app/scm_repo_link', { scm_repo_link: {} })));
  add('error-422', answerOf(await ask('api', 'POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: '' })));

  fake.fault({ kind: 'status', status: 402, method: 'POST', path: '/v1/apps/bad-app/scm_repo_link' });
  add(
    'error-402',
    answerOf(
      await ask('api', 'POST', '/v1/apps/bad-app/scm_repo_link', {
        scm_repo_link: { source: SOURCE, auth_integration_uuid: integration },
      }),
    ),
  );
  fake.fault({ kind: 'status', status: 500, method: 'GET', path: '/v1/apps/my-app' });
  add('error-500', answerOf(await ask('api', 'GET', '/v1/apps/my-app')));

  fake.setScenario({ rateLimitPerMinute: 1 });
  await ask('api', 'GET', '/v1/apps/my-app');
  add('error-429', answerOf(await ask('api', 'GET', '/v1/apps/my-app')));
  fake.setScenario({ rateLimitPerMinute: undefined });
  return answers;
}
