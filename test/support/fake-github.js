// @ts-check
/**
 * @file A fake GitHub REST API (the part the project uses: issue comments,
 * deployments and deployment statuses, and their lists), served at the root of a node:http
 * server on 127.0.0.1 like `GITHUB_API_URL` (no /api/v3 prefix).
 *
 * Objects carry the fields octokit users read (id, node_id, url, html_url,
 * body, user{login,type}, created_at, updated_at…). Every request is recorded
 * and fault rules work as on the fake Scalingo (see fake-http.js).
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { FaultInjector, HttpError, Router, isObject, startRecordingServer } from './fake-http.js';

/**
 * @typedef {import('./fake-http.js').RecordedRequest} RecordedRequest
 * @typedef {import('./fake-http.js').FaultRule} FaultRule
 * @typedef {import('./fake-http.js').IncomingCall} IncomingCall
 * @typedef {import('./fake-http.js').Reply} Reply
 */

/** @typedef {{ login: string, id: number, type: 'User' | 'Bot' }} GitHubUser */

/**
 * @typedef {object} CommentRecord
 * @property {number} id
 * @property {string} owner
 * @property {string} repo
 * @property {number} issue_number
 * @property {string} body
 * @property {GitHubUser} user
 * @property {string} created_at
 * @property {string} updated_at
 */

/**
 * @typedef {object} DeploymentRecord
 * @property {number} id
 * @property {string} owner
 * @property {string} repo
 * @property {string} ref
 * @property {string} sha
 * @property {string} environment
 * @property {string | null} description
 * @property {unknown} payload
 * @property {boolean} transient_environment
 * @property {boolean} production_environment
 * @property {boolean} auto_merge
 * @property {string[] | null} required_contexts
 * @property {string} created_at
 */

/**
 * @typedef {object} StatusRecord
 * @property {number} id
 * @property {number} deployment_id
 * @property {string} owner
 * @property {string} repo
 * @property {string} state
 * @property {string} description
 * @property {string} environment
 * @property {string} environment_url
 * @property {string} log_url
 * @property {boolean} auto_inactive
 * @property {string} created_at
 */

/**
 * A seeded comment: its body, or the body and its author.
 * @typedef {string | { body: string, login?: string, type?: 'User' | 'Bot' }} CommentSeed
 */

/**
 * A seeded deployment: its environment and the states of its statuses, oldest first (none: no status yet).
 * @typedef {{ environment: string, ref?: string, states?: string[] }} DeploymentSeed
 */

/**
 * @typedef {object} FakeGitHubOptions
 * @property {string[]} [tokens] Accepted tokens; default: any non-empty token.
 * @property {string} [repository] `owner/repo` of seeded comments and deployments (default 'octo-org/octo-repo').
 * @property {Record<string, CommentSeed[]>} [existingComments] Per issue/PR number, oldest first.
 * @property {DeploymentSeed[]} [existingDeployments] Oldest first, with their statuses.
 * @property {string} [login] Author of the comments the client creates (default 'github-actions[bot]').
 * @property {FaultRule[]} [faults]
 */

/**
 * @typedef {object} FakeGitHub
 * @property {string} url
 * @property {RecordedRequest[]} requests
 * @property {{ comments: CommentRecord[], deployments: DeploymentRecord[], statuses: StatusRecord[] }} state
 * @property {(rule: FaultRule) => void} fault
 * @property {() => void} clearFaults
 * @property {() => Promise<void>} close
 */

const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

/**
 * @param {number} status
 * @returns {Reply}
 */
function gitHubErrorReply(status) {
  return {
    status,
    json: { message: http.STATUS_CODES[status] ?? 'Error', documentation_url: 'https://docs.github.com/rest' },
  };
}

const notFound = () => new HttpError(404, gitHubErrorReply(404).json);

/** @param {string} message */
const validationFailed = (message) => new HttpError(422, { message: 'Validation Failed', errors: [{ message }] });

/** @param {string} prefix @param {number} id */
const nodeId = (prefix, id) => `${prefix}_${Buffer.from(`fake:${id}`).toString('base64url')}`;

/**
 * @param {URLSearchParams} query
 * @param {string} name
 * @param {number} fallback
 * @param {number} max
 */
function queryInt(query, name, fallback, max) {
  const value = Number.parseInt(query.get(name) ?? '', 10);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}

/**
 * A `Link` header as GitHub sends it (rel first/prev/next/last), or undefined on a single page.
 * @param {string} base Absolute URL of the list, without query string.
 * @param {URLSearchParams} query
 * @param {number} page
 * @param {number} lastPage
 */
function linkHeader(base, query, page, lastPage) {
  /** @param {number} target @param {string} rel */
  const link = (target, rel) => {
    const params = new URLSearchParams(query);
    params.set('page', String(target));
    return `<${base}?${params}>; rel="${rel}"`;
  };
  const links = [];
  if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  return links.length > 0 ? links.join(', ') : undefined;
}

/**
 * Starts the fake GitHub API on 127.0.0.1 (random port).
 * @param {FakeGitHubOptions} [options]
 * @returns {Promise<FakeGitHub>}
 */
export async function startFakeGitHub(options = {}) {
  const [seedOwner = 'octo-org', seedRepo = 'octo-repo'] = (options.repository ?? 'octo-org/octo-repo').split('/');
  /** @type {GitHubUser} */
  const clientUser = { login: options.login ?? 'github-actions[bot]', id: 41898282, type: 'Bot' };
  /** @type {FakeGitHub['state']} */
  const state = { comments: [], deployments: [], statuses: [] };
  /** @type {RecordedRequest[]} */
  const requests = [];
  const faults = new FaultInjector();
  for (const rule of options.faults ?? []) faults.add(rule);
  let url = '';
  let nextId = 1000;
  const now = () => new Date().toISOString();

  for (const [number, seeds] of Object.entries(options.existingComments ?? {})) {
    for (const seed of seeds) {
      const { body, login = 'someone', type = 'User' } = typeof seed === 'string' ? { body: seed } : seed;
      const createdAt = now();
      state.comments.push({
        id: nextId++,
        owner: seedOwner,
        repo: seedRepo,
        issue_number: Number(number),
        body,
        user: { login, id: 1000 + state.comments.length, type },
        created_at: createdAt,
        updated_at: createdAt,
      });
    }
  }

  for (const seed of options.existingDeployments ?? []) {
    const ref = seed.ref ?? 'main';
    const createdAt = now();
    /** @type {DeploymentRecord} */
    const deployment = {
      id: nextId++,
      owner: seedOwner,
      repo: seedRepo,
      ref,
      sha: /^[0-9a-f]{40}$/.test(ref) ? ref : createHash('sha1').update(ref).digest('hex'),
      environment: seed.environment,
      description: null,
      payload: {},
      transient_environment: false,
      production_environment: seed.environment === 'production',
      auto_merge: false,
      required_contexts: [],
      created_at: createdAt,
    };
    state.deployments.push(deployment);
    for (const status of seed.states ?? []) {
      state.statuses.push({
        id: nextId++,
        deployment_id: deployment.id,
        owner: seedOwner,
        repo: seedRepo,
        state: status,
        description: '',
        environment: seed.environment,
        environment_url: '',
        log_url: '',
        auto_inactive: true,
        created_at: createdAt,
      });
    }
  }

  // --- views ------------------------------------------------------------------

  /** @param {string} owner @param {string} repo */
  const repoApi = (owner, repo) => `${url}/repos/${owner}/${repo}`;

  /** @param {CommentRecord} comment */
  const commentView = ({ id, owner, repo, issue_number, body, user, created_at, updated_at }) => ({
    id,
    node_id: nodeId('IC', id),
    url: `${repoApi(owner, repo)}/issues/comments/${id}`,
    html_url: `https://github.com/${owner}/${repo}/issues/${issue_number}#issuecomment-${id}`,
    issue_url: `${repoApi(owner, repo)}/issues/${issue_number}`,
    body,
    user: { ...user, node_id: nodeId('U', user.id) },
    author_association: user.type === 'Bot' ? 'NONE' : 'MEMBER',
    created_at,
    updated_at,
  });

  /** @param {DeploymentRecord} deployment */
  const deploymentView = (deployment) => {
    const { id, owner, repo, created_at, ...fields } = deployment;
    const self = `${repoApi(owner, repo)}/deployments/${id}`;
    return {
      id,
      node_id: nodeId('DE', id),
      url: self,
      ...fields,
      task: 'deploy',
      original_environment: fields.environment,
      creator: clientUser,
      created_at,
      updated_at: created_at,
      statuses_url: `${self}/statuses`,
      repository_url: repoApi(owner, repo),
    };
  };

  /** @param {StatusRecord} status */
  const statusView = ({
    id,
    deployment_id,
    owner,
    repo,
    state,
    description,
    environment,
    environment_url,
    log_url,
    created_at,
  }) => {
    const deploymentUrl = `${repoApi(owner, repo)}/deployments/${deployment_id}`;
    return {
      id,
      node_id: nodeId('DES', id),
      url: `${deploymentUrl}/statuses/${id}`,
      state,
      description,
      environment,
      environment_url,
      log_url,
      target_url: log_url,
      creator: clientUser,
      created_at,
      updated_at: created_at,
      deployment_url: deploymentUrl,
      repository_url: repoApi(owner, repo),
    };
  };

  // --- lookups ----------------------------------------------------------------

  /** @param {Record<string, string>} params */
  const findComment = ({ owner, repo, id }) => {
    const comment = state.comments.find((c) => c.owner === owner && c.repo === repo && String(c.id) === id);
    if (!comment) throw notFound();
    return comment;
  };

  /** @param {Record<string, string>} params */
  const findDeployment = ({ owner, repo, id }) => {
    const deployment = state.deployments.find((d) => d.owner === owner && d.repo === repo && String(d.id) === id);
    if (!deployment) throw notFound();
    return deployment;
  };

  /**
   * One page of a list, with GitHub's `per_page` (default 30, at most 100), `page` and `Link` header.
   * @template T
   * @param {IncomingCall} call
   * @param {T[]} all
   * @param {(item: T) => unknown} view
   * @returns {Reply}
   */
  const pageOf = (call, all, view) => {
    const perPage = queryInt(call.query, 'per_page', 30, 100);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const page = queryInt(call.query, 'page', 1, Number.MAX_SAFE_INTEGER);
    const link = linkHeader(`${url}${call.pathname}`, call.query, page, lastPage);
    return {
      status: 200,
      json: all.slice((page - 1) * perPage, page * perPage).map(view),
      ...(link && { headers: { link } }),
    };
  };

  /** @param {IncomingCall} call */
  const commentBody = (call) => {
    const body = isObject(call.body) ? call.body.body : undefined;
    if (typeof body !== 'string') throw validationFailed('body is a required string');
    return body;
  };

  /** @param {IncomingCall} call */
  const authorize = (call) => {
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(call.headers.authorization ?? '')?.[1];
    if (!token) throw new HttpError(401, { message: 'Requires authentication' });
    if (options.tokens && !options.tokens.includes(token)) throw new HttpError(401, { message: 'Bad credentials' });
  };

  // --- routes -----------------------------------------------------------------

  const issue = '/repos/:owner/:repo/issues/:number';
  const comment = '/repos/:owner/:repo/issues/comments/:id';
  const deployments = '/repos/:owner/:repo/deployments';
  const routes = new Router()
    .on('GET', `${issue}/comments`, (call, { owner, repo, number }) => {
      const all = state.comments.filter(
        (c) => c.owner === owner && c.repo === repo && String(c.issue_number) === number,
      );
      return pageOf(call, all, commentView);
    })
    .on('POST', `${issue}/comments`, (call, { owner = '', repo = '', number }) => {
      const body = commentBody(call);
      const createdAt = now();
      /** @type {CommentRecord} */
      const created = {
        id: nextId++,
        owner,
        repo,
        issue_number: Number(number),
        body,
        user: clientUser,
        created_at: createdAt,
        updated_at: createdAt,
      };
      state.comments.push(created);
      return { status: 201, json: commentView(created) };
    })
    .on('GET', comment, (_, params) => ({ status: 200, json: commentView(findComment(params)) }))
    .on('PATCH', comment, (call, params) => {
      const found = findComment(params);
      Object.assign(found, { body: commentBody(call), updated_at: now() });
      return { status: 200, json: commentView(found) };
    })
    .on('GET', deployments, (call, { owner, repo }) => {
      // GitHub's filters (sha, ref, task, environment), newest first.
      /** @type {(name: string, value: string) => boolean} */
      const matches = (name, value) => !call.query.has(name) || call.query.get(name) === value;
      const all = state.deployments
        .filter(
          (d) =>
            d.owner === owner &&
            d.repo === repo &&
            matches('sha', d.sha) &&
            matches('ref', d.ref) &&
            matches('task', 'deploy') &&
            matches('environment', d.environment),
        )
        .reverse();
      return pageOf(call, all, deploymentView);
    })
    .on('POST', deployments, (call, { owner = '', repo = '' }) => {
      const input = isObject(call.body) ? call.body : {};
      if (typeof input.ref !== 'string' || input.ref === '') throw validationFailed('ref is a required string');
      const environment = typeof input.environment === 'string' ? input.environment : 'production';
      /** @type {DeploymentRecord} */
      const created = {
        id: nextId++,
        owner,
        repo,
        ref: input.ref,
        sha: /^[0-9a-f]{40}$/.test(input.ref) ? input.ref : createHash('sha1').update(input.ref).digest('hex'),
        environment,
        description: typeof input.description === 'string' ? input.description : null,
        payload: input.payload ?? {},
        transient_environment: input.transient_environment === true,
        production_environment:
          typeof input.production_environment === 'boolean'
            ? input.production_environment
            : environment === 'production',
        auto_merge: input.auto_merge !== false,
        required_contexts: Array.isArray(input.required_contexts) ? input.required_contexts.map(String) : null,
        created_at: now(),
      };
      state.deployments.push(created);
      return { status: 201, json: deploymentView(created) };
    })
    .on('POST', `${deployments}/:id/statuses`, (call, params) => {
      const deployment = findDeployment(params);
      const input = isObject(call.body) ? call.body : {};
      const text = (/** @type {string} */ key) => (typeof input[key] === 'string' ? input[key] : '');
      if (!DEPLOYMENT_STATES.includes(text('state')))
        throw validationFailed(`state must be one of ${DEPLOYMENT_STATES.join(', ')}`);
      /** @type {StatusRecord} */
      const created = {
        id: nextId++,
        deployment_id: deployment.id,
        owner: deployment.owner,
        repo: deployment.repo,
        state: text('state'),
        description: text('description'),
        environment: text('environment') || deployment.environment,
        environment_url: text('environment_url'),
        log_url: text('log_url'),
        auto_inactive: input.auto_inactive !== false,
        created_at: now(),
      };
      state.statuses.push(created);
      return { status: 201, json: statusView(created) };
    })
    .on('GET', `${deployments}/:id/statuses`, (call, params) => {
      const { id } = findDeployment(params);
      const statuses = state.statuses.filter((s) => s.deployment_id === id).reverse(); // newest first
      return pageOf(call, statuses, statusView);
    });

  const server = await startRecordingServer({
    requests,
    faults,
    errorReply: gitHubErrorReply,
    handle(call) {
      const match = routes.match(call.method, call.pathname);
      if (!match) throw notFound();
      authorize(call);
      if (call.invalidJson) throw new HttpError(400, { message: 'Problems parsing JSON' });
      return match.handler(call, match.params);
    },
  });
  url = server.url;

  return {
    url,
    requests,
    state,
    fault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    close: () => server.close(),
  };
}
