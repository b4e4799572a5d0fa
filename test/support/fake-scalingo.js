// @ts-check
/**
 * @file A fake Scalingo platform for end-to-end tests.
 *
 * `startFakeScalingo()` runs two node:http servers on 127.0.0.1: the global
 * auth service (token exchange, SCM integrations) and one
 * regional API (apps, SCM repo links, manual deploys, review apps,
 * deployments). They behave like the real services as far as the API is
 * documented: root-keyed JSON bodies, exact success statuses, Scalingo's error
 * shapes, bearer tokens that are unsigned JWTs with an `exp` claim. Every
 * request is recorded, deployments follow a scripted lifecycle, and fault
 * rules break chosen requests in chosen ways.
 *
 * Scalingo's own clients drive it too: its CLI (test/official-cli/official-cli.js, outside `npm test`) and its JS
 * client (test/support/official-js-client.test.ts).
 *
 * This file is the wire: the routes the product calls, the order in which a
 * request is checked, Scalingo's error shapes, and the entry points. The
 * simulated world is in fake-scalingo-world.js; the generic HTTP plumbing
 * (recording, routing, fault injection) in fake-http.js.
 *
 * Run directly for a standalone server: `node test/support/fake-scalingo.js [options.json]`.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { FaultInjector, HttpError, isObject, ok, rateLimitReply, Router, startRecordingServer } from './fake-http.js';
import { ScalingoSimulation } from './fake-scalingo-world.js';
import { attachDeploymentsStream } from './fake-scalingo-stream.js';

/** @typedef {import('./fake-http.js').RecordedRequest} RecordedRequest */
/** @typedef {import('./fake-http.js').FaultRule} FaultRule */
/** @typedef {import('./fake-http.js').FaultKind} FaultKind */
/** @typedef {import('./fake-http.js').Reply} Reply */
/** @typedef {import('./fake-http.js').IncomingCall} IncomingCall */
/** @typedef {import('./fake-scalingo-world.js').FakeScalingoOptions} FakeScalingoOptions */
/** @typedef {import('./fake-scalingo-world.js').FakeScalingoState} FakeScalingoState */
/** @typedef {import('./fake-scalingo-world.js').Scenario} Scenario */
/** @typedef {import('./fake-scalingo-world.js').ScmRepoLink} ScmRepoLink */
/** @typedef {import('./fake-scalingo-world.js').DeployScript} DeployScript */
/** @typedef {import('./fake-scalingo-world.js').DeploymentTimeline} DeploymentTimeline */
/** @typedef {import('./fake-scalingo-stream.js').FakeStreamSettings} FakeStreamSettings */
/** @typedef {import('./fake-stream.js').FakeStream} FakeStream */
/**
 * The world's options, and the deployments stream's (fake-scalingo-stream.js): `stream: false` leaves it out.
 * @typedef {FakeScalingoOptions & { stream?: FakeStreamSettings | false }} FakeScalingoStartOptions
 */

/**
 * @typedef {object} FakeScalingo
 * @property {string} authUrl
 * @property {string} apiUrl
 * @property {RecordedRequest[]} requests Both servers, in arrival order.
 * @property {FakeScalingoState} state
 * @property {(rule: FaultRule) => void} fault
 * @property {() => void} clearFaults
 * @property {() => void} revokeBearers Every bearer issued so far stops working.
 * @property {(partial: Partial<Scenario>) => void} setScenario
 * @property {() => RecordedRequest[]} mutating Non-GET/HEAD requests, token exchanges excluded.
 * @property {() => DeploymentTimeline[]} deploymentsCreated Deployments created by
 *   manual_deploy, by a review app's first deployment or by an auto-deploy, in creation order (what happened by
 *   itself until now included: see `tick`).
 * @property {(id: string) => DeploymentTimeline | undefined} deploymentTimeline Any deployment.
 * @property {(app?: string) => void} checksPassed The pending CI checks pass: a new review app's held first
 *   deployment starts (if its link still auto-deploys), and pushes to auto-deploying links deploy.
 * @property {(branch: string, sha?: string) => void} push A push to a branch: links that auto-deploy it (review
 *   apps' own links included) deploy it once the checks pass (`checksPassed`).
 * @property {(pr: number, parent?: string) => void} closePull The pull request closes: a manually created review
 *   app is deleted at once (it then answers 404).
 * @property {FakeStream | undefined} stream The deployments stream on the API server (absent with `stream: false`).
 * @property {(id: string) => number | undefined} streamEndAt When the stream sent a deployment's final status.
 * @property {() => Promise<void>} close
 */

// ---------------------------------------------------------------------------
// Scalingo's wire: error shapes, routes, the order of checks
// ---------------------------------------------------------------------------

/** @type {Record<number, unknown>} Default bodies of `status` faults (error shapes of the API docs). */
const SCALINGO_ERROR_BODIES = {
  400: { error: 'bad request' },
  401: { error: 'invalid token' },
  402: { name: 'free-trial-exceeded', error: 'free trial exceeded', url: 'https://dashboard.scalingo.com/billing' },
  403: { error: 'forbidden', code: 'forbidden' },
  404: { error: 'not found' },
  409: { error: 'conflict' },
  422: { errors: { base: ['is invalid'] } },
  500: { error: "Internal error occured, we're on it!" },
  503: { error: 'upstream provider returned an error, please retry later' },
};

/**
 * @param {number} status
 * @returns {Reply}
 */
function scalingoErrorReply(status) {
  if (status === 429) return rateLimitReply();
  return {
    status,
    json: SCALINGO_ERROR_BODIES[status] ?? { error: (http.STATUS_CODES[status] ?? 'error').toLowerCase() },
  };
}

/**
 * Replaces the deployment status in a response (`unknown-status` fault).
 * @param {Reply} reply
 * @param {string} status
 * @returns {Reply}
 */
function withDeploymentStatus(reply, status) {
  const { json } = reply;
  if (!isObject(json)) return reply;
  /** @param {unknown} deployment */
  const override = (deployment) => (isObject(deployment) ? { ...deployment, status } : deployment);
  if (isObject(json.deployment)) return { ...reply, json: { ...json, deployment: override(json.deployment) } };
  if (Array.isArray(json.deployments))
    return { ...reply, json: { ...json, deployments: json.deployments.map(override) } };
  return reply;
}

/**
 * The endpoints the product calls (src/scalingo/client.ts), those Scalingo's own CLI and JS client call for the same
 * jobs (login, regions, an integration by id or type, a pull request), and nothing else: an unknown route answers 404.
 * @param {ScalingoSimulation} world
 * @param {{ of: (app: string) => string | undefined }} streamLink The app's `deployments_stream`, when it has one.
 * @returns {{ auth: Router, api: Router }}
 */
function routes(world, streamLink) {
  const auth = new Router()
    .on('POST', '/v1/tokens/exchange', (call) => world.exchangeToken(call), { auth: 'none' })
    .on('GET', '/v1/users/self', () => world.self())
    .on('GET', '/v1/regions', () => world.listRegions(), { auth: 'optional' })
    .on('GET', '/v1/scm_integrations', () => ok({ scm_integrations: world.state.integrations }))
    .on('GET', '/v1/scm_integrations/:id', (_, { id }) => world.showIntegration(id));

  const link = '/v1/apps/:app/scm_repo_link';
  const api = new Router()
    .on('GET', '/v1/scm_repo_links', (call) => world.listLinks(call))
    .on('GET', '/v1/apps/:app', (_, { app }) =>
      ok({ app: withStreamLink(world.appView(world.app(app)), streamLink.of(world.app(app).name)) }),
    )
    .on('GET', '/v1/apps/:app/deployments', (call, { app }) => world.listDeployments(call, world.app(app)))
    .on('GET', '/v1/apps/:app/deployments/:id', (_, { app, id }) => world.showDeployment(world.app(app), id))
    .on('GET', '/v1/apps/:app/deployments/:id/output', (_, { app, id }) => world.deploymentOutput(world.app(app), id))
    .on('GET', link, (_, { app }) => ok({ scm_repo_link: world.link(world.app(app)) }))
    .on('POST', link, (call, { app }) => world.createLink(call, world.app(app)))
    .on('PATCH', link, (call, { app }) => world.updateLink(call, world.app(app)))
    .on('DELETE', link, (_, { app }) => world.deleteLink(world.app(app)))
    .on('POST', `${link}/manual_deploy`, (call, { app }) => world.manualDeploy(call, world.app(app)))
    .on('POST', `${link}/manual_review_app`, (call, { app }) => world.manualReviewApp(call, world.app(app)))
    .on('GET', `${link}/review_apps`, (_, { app }) => world.listReviewApps(world.app(app)))
    .on('GET', `${link}/pulls/:number`, (_, { app, number }) => world.showPull(world.app(app), number));
  return { auth, api };
}

/**
 * The app as shown, with the fake's own stream URL in `links.deployments_stream`, or without one.
 * @param {Record<string, unknown>} view
 * @param {string | undefined} link
 */
function withStreamLink(view, link) {
  const links = isObject(view.links) ? { ...view.links } : {};
  if (link === undefined) delete links.deployments_stream;
  else links.deployments_stream = link;
  return { ...view, links };
}

/**
 * One request, as Scalingo takes it: route, then the bearer, then the body, then the simulation.
 * @param {ScalingoSimulation} world
 * @param {{ auth: Router, api: Router }} routers
 * @param {'auth' | 'api'} service
 * @param {IncomingCall} call
 * @returns {Reply}
 */
function handle(world, routers, service, call) {
  world.tick();
  const match = routers[service].match(call.method, call.pathname);
  if (!match) {
    const appName = service === 'api' ? /^\/v1\/apps\/([^/]+)\//.exec(call.pathname)?.[1] : undefined;
    if (appName !== undefined) world.app(appName); // unknown app → 404 app
    throw new HttpError(404, { error: 'not found' });
  }
  const { auth = 'required' } = match.meta;
  if (auth === 'required' || (auth === 'optional' && call.headers.authorization)) world.requireBearer(call);
  if (call.invalidJson) throw new HttpError(400, { error: 'invalid JSON' });
  const reply = match.handler(call, match.params);
  return call.fault?.kind === 'unknown-status' ? withDeploymentStatus(reply, call.fault.value ?? 'unknown') : reply;
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/**
 * Starts the fake auth service and regional API on 127.0.0.1 (random ports).
 * @param {FakeScalingoStartOptions} [options]
 * @returns {Promise<FakeScalingo>}
 */
export async function startFakeScalingo(options = {}) {
  const simulation = new ScalingoSimulation(options);
  /** @type {{ of: (app: string) => string | undefined }} */
  const streamLink = { of: () => undefined };
  /** @type {import('./fake-scalingo-stream.js').DeploymentsStream | undefined} */
  let deploymentsStream;
  const routers = routes(simulation, streamLink);
  const { state } = simulation;
  /** @type {RecordedRequest[]} */
  const requests = [];
  const faults = new FaultInjector();
  for (const rule of options.faults ?? []) faults.add(rule);

  /** @param {'auth' | 'api'} service */
  const serverConfig = (service) => ({
    service,
    requests,
    faults,
    handle: (/** @type {IncomingCall} */ call) => handle(simulation, routers, service, call),
    errorReply: scalingoErrorReply,
    rateLimitPerMinute: () => state.scenario.rateLimitPerMinute,
    rateLimitWindowMs: () => state.scenario.rateLimitWindowMs,
    onRequest: (/** @type {RecordedRequest} */ record) => {
      deploymentsStream?.sync();
      options.onRequest?.(record);
    },
  });
  const [auth, api] = await Promise.all([
    startRecordingServer(serverConfig('auth')),
    startRecordingServer(serverConfig('api')),
  ]);
  simulation.attach(api.url);
  if (options.stream !== false) {
    deploymentsStream = attachDeploymentsStream(api.server, simulation, options.stream ?? {});
    streamLink.of = deploymentsStream.linkOf;
  }

  return {
    authUrl: auth.url,
    apiUrl: api.url,
    requests,
    state,
    fault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    revokeBearers: () => simulation.revokeBearers(),
    setScenario(partial) {
      Object.assign(state.scenario, partial);
      simulation.checkScenario();
    },
    mutating: () =>
      requests.filter(
        ({ method, path }) =>
          !['GET', 'HEAD'].includes(method) && !(method === 'POST' && path.split('?')[0] === '/v1/tokens/exchange'),
      ),
    deploymentsCreated: () => {
      simulation.tick();
      return state.deployments
        .filter((deployment) => deployment.trigger !== 'seed')
        .map((deployment) => simulation.timeline(deployment));
    },
    checksPassed: (app) => simulation.checksPassed(app),
    push: (branch, sha) => simulation.push(branch, sha),
    closePull: (pr, parent) => simulation.closePull(pr, parent),
    deploymentTimeline(id) {
      simulation.tick();
      const deployment = state.deployments.find((candidate) => candidate.id === id);
      return deployment && simulation.timeline(deployment);
    },
    stream: deploymentsStream?.stream,
    streamEndAt: (id) => deploymentsStream?.endSentAt(id),
    close: async () => {
      await deploymentsStream?.close();
      await Promise.all([auth.close(), api.close()]);
    },
  };
}

/**
 * Standalone mode: `node test/support/fake-scalingo.js [options.json]` prints
 * `{"authUrl":…,"apiUrl":…}` on stdout, logs each request on stderr and stops
 * on SIGINT/SIGTERM.
 * @param {string[]} [args]
 */
export async function main(args = process.argv.slice(2)) {
  const optionsFile = args[0];
  /** @type {FakeScalingoOptions} */
  const options = optionsFile ? JSON.parse(await readFile(optionsFile, 'utf8')) : {};
  const fake = await startFakeScalingo({
    ...options,
    onRequest: ({ service, method, path, status, fault }) => {
      process.stderr.write(
        `${service} ${method} ${path} ${status ?? 'no-response'}${fault ? ` (fault: ${fault})` : ''}\n`,
      );
    },
  });
  process.stdout.write(`${JSON.stringify({ authUrl: fake.authUrl, apiUrl: fake.apiUrl })}\n`);
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fake.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((/** @type {unknown} */ error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
