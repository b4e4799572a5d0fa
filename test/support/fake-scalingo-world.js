// @ts-check
/**
 * @file The simulated Scalingo platform behind fake-scalingo.js: one user with SCM integrations, apps, the SCM repo
 * link of each app, deployments that follow a scripted lifecycle (by status reads or by time), pull requests and
 * review apps. Each method is what one request does to the world; fake-scalingo.js routes the requests here and
 * owns the wire (servers, routing, authentication order, error shapes, faults). Read this file to know how the fake
 * behaves; change it to make the fake behave more like the real Scalingo.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { HttpError, isObject, JSON_TYPE, ok, TEXT_TYPE } from './fake-http.js';

/** @typedef {import('./fake-http.js').Reply} Reply */
/** @typedef {import('./fake-http.js').IncomingCall} IncomingCall */
/** @typedef {import('./fake-http.js').FaultRule} FaultRule */
/** @typedef {import('./fake-http.js').RecordedRequest} RecordedRequest */

// ---------------------------------------------------------------------------
// Types of the world
// ---------------------------------------------------------------------------

/**
 * Statuses are free strings: the documented ones are queued, building,
 * pushing, starting (in progress), success, aborted, build-error,
 * crashed-error, timeout-error, hook-error (terminal); any other string counts
 * as terminal, as in the official Go client.
 *
 * A deployment script is either a list of statuses (created with the first,
 * one step further on each `GET …/deployments/:id`, then staying on the last),
 * or a duration: queued for the first 5 %, building until 60 %, pushing until
 * 75 %, starting until 100 %, then `final`.
 *
 * Both count from when the deployment leaves Scalingo's queue: deployments of one app never run in parallel (a later
 * one stays `queued` until the earlier one ends), and at most 10 deployments of one owner run at once (see
 * `deployOnePerApp`, `maxRunningDeployments`). A list script advances on reads once it runs; a read of a deployment
 * waiting behind a list-scripted one of the same app advances that one instead (a read-driven world moves with reads).
 * @typedef {string[] | { durationMs: number, final: string }} DeployScript
 */

/** @typedef {{ id: string, username: string, email: string }} Person */

/**
 * @typedef {object} Integration
 * @property {string} id
 * @property {'github' | 'gitlab' | 'github-enterprise' | 'gitlab-self-hosted' | string} scm_type
 * @property {string} url SCM root URL, e.g. https://github.com.
 * @property {string} access_token A dummy value.
 * @property {string} uid
 * @property {string} username
 * @property {string} email
 * @property {string} avatar_url
 * @property {string} profile_url
 * @property {string} created_at
 * @property {Person} owner
 */

/**
 * @typedef {object} Region
 * @property {string} name
 * @property {string} display_name
 * @property {string} api
 * @property {string} dashboard
 * @property {string} database_api
 * @property {string} ssh
 * @property {boolean} default
 */

/**
 * An app as stored; GET /v1/apps/:app adds `status` and `last_deployment_id` (the last successful deployment).
 * @typedef {object} AppRecord
 * @property {string} id
 * @property {string} name
 * @property {string} region
 * @property {string} url
 * @property {string} base_url
 * @property {string} git_url
 * @property {string} created_at
 * @property {string} updated_at
 * @property {Person} owner
 * @property {{ deployments_stream: string }} links
 */

/**
 * The settings a link create/update may carry (all optional).
 * @typedef {object} LinkSettings
 * @property {string} [branch]
 * @property {boolean} [auto_deploy_enabled]
 * @property {boolean} [deploy_review_apps_enabled]
 * @property {boolean} [delete_on_close_enabled]
 * @property {boolean} [delete_stale_enabled]
 * @property {number} [hours_before_delete_on_close]
 * @property {number} [hours_before_delete_stale]
 * @property {boolean} [automatic_creation_from_forks_allowed]
 */

/**
 * Exactly what GET /v1/apps/:app/scm_repo_link returns (inside `scm_repo_link`).
 * @typedef {object} ScmRepoLink
 * @property {string} id
 * @property {string} app_id
 * @property {Person} linker
 * @property {string} url SCM root URL.
 * @property {string} owner
 * @property {string} repo
 * @property {string} branch
 * @property {string} scm_type
 * @property {string} created_at
 * @property {string} updated_at
 * @property {boolean} auto_deploy_enabled
 * @property {string} auth_integration_uuid
 * @property {boolean} deploy_review_apps_enabled
 * @property {boolean} delete_on_close_enabled
 * @property {boolean} delete_stale_enabled
 * @property {number} hours_before_delete_on_close
 * @property {number} hours_before_delete_stale
 * @property {string} last_auto_deploy_at Go's zero time (`0001-01-01T00:00:00Z`) until the link auto-deploys.
 * @property {boolean} automatic_creation_from_forks_allowed
 */

/**
 * `review_app`: the first deployment Scalingo starts by itself once the CI checks pass; `auto_deploy`: a push to a
 * branch an auto-deploying link follows, once the checks pass.
 * @typedef {'manual_deploy' | 'review_app' | 'auto_deploy' | 'seed'} DeploymentTrigger
 */

/**
 * A deployment as stored (responses are rendered from it).
 * @typedef {object} DeploymentRecord
 * @property {string} id UUID.
 * @property {string} appName
 * @property {DeploymentTrigger} trigger
 * @property {string} branch Internal: the API does not return it.
 * @property {string} gitRef
 * @property {string | null} previousGitRef
 * @property {Person} pusher
 * @property {number} createdAt Epoch ms.
 * @property {number | null} startedAt Epoch ms at which it left the queue (its script counts from then); null while
 *   queued behind another deployment.
 * @property {DeployScript} script
 * @property {number} reads How many times GET …/deployments/:id read it while it ran.
 * @property {number | null} finalAt Epoch ms at which a terminal status was first shown.
 */

/**
 * @typedef {object} DeploymentTimeline
 * @property {string} id
 * @property {string} app
 * @property {DeploymentTrigger} trigger
 * @property {string} branch
 * @property {string} git_ref
 * @property {string} status Current status (looking at it does not advance a script).
 * @property {number} createdAt Epoch ms.
 * @property {number | null} startedAt Epoch ms at which it left the queue; null while queued.
 * @property {number | null} finalAt Epoch ms at which it became terminal; null while in progress.
 */

/**
 * @typedef {object} ReviewAppRecord
 * @property {string} id
 * @property {string} parentName
 * @property {string} appName
 * @property {number} number Pull request number.
 * @property {string} headBranch
 * @property {number} createdAt Epoch ms.
 * @property {ScmRepoLink} parentLink Snapshot of the parent's link at creation.
 * @property {boolean} manual Created by manual_review_app (or seeded as such), not by Scalingo's automatic review
 *   apps: deleted at once when its pull request closes.
 * @property {number | null} closedAt Epoch ms at which its pull request closed.
 * @property {number} readyAt Epoch ms at which Scalingo ends its creation (add-ons provisioned): until then its app
 *   exists (status `new`) but its own link does not (404 `scm_repo_link`). See `reviewAppCreationMs`.
 * @property {'pending' | 'passed'} checks The CI checks of its pull request's head commit.
 * @property {'creating' | 'held' | 'pending' | 'done'} firstDeployment `creating`: Scalingo has not ended its
 *   creation; `held`: created, Scalingo waits for the commit's CI checks before its first deployment (the job calling
 *   the API is one of them, so it never starts by itself during a test unless `checksPassed()` is called);
 *   `pending`: decided (the checks passed while its own link auto-deployed), it appears after `pendingListCalls`
 *   deployment-list calls and at `pendingDueAt`, even if someone deployed the review app meanwhile; `done`: started,
 *   or made needless (a manual_deploy on it while held, or its link's auto-deploy off when the checks passed).
 * @property {number | null} pendingListCalls Deployment-list calls left before a pending first deployment appears
 *   on the next one (see `reviewAppDeploymentDelay`); null: it waits for its time only, and appears by itself.
 * @property {number | null} pendingDueAt Epoch ms from which a pending first deployment appears (see
 *   `reviewAppDeploymentDelayMs`).
 */

/**
 * @typedef {object} PullSettings
 * @property {string} [head_branch] Default `feature-<number>`.
 * @property {string} [title] Default `Pull request #<number>`.
 * @property {boolean | string} [fork] True, or the fork's `owner/repo`, when opened from a fork.
 */

/**
 * Knobs read on every request; tests may change them mid-run (`setScenario`).
 * @typedef {object} Scenario
 * @property {string[]} tokens Valid API tokens.
 * @property {number} bearerTtlSeconds
 * @property {DeployScript} deployScript Default script of new deployments.
 * @property {Record<string, DeployScript>} deployScripts Per app name (review apps included).
 * @property {Record<string, PullSettings>} pulls Per pull request number.
 * @property {string[]} unreachableRepos Sources whose link creation answers 404.
 * @property {'full' | 'empty-object' | 'no-body'} reviewAppResponse Body of manual_review_app.
 * @property {'error' | 'ok'} reviewAppExists manual_review_app on a PR that already has one.
 * @property {'pending' | 'passed'} reviewAppChecks The CI checks of a new review app's commit: `pending` (default)
 *   holds its first deployment until someone calls manual_deploy on the review app (or `checksPassed()`);
 *   `passed`: Scalingo decides it by itself when the review app's creation ends (its own link then auto-deploys: a
 *   PATCH sent meanwhile finds no link), and it appears after `reviewAppDeploymentDelay` deployment-list calls and
 *   `reviewAppDeploymentDelayMs`.
 * @property {number} reviewAppDeploymentDelay Deployment-list calls on a new review app, once its first deployment is
 *   decided, before it appears.
 * @property {number} reviewAppDeploymentDelayMs Milliseconds between the decision of a review app's first deployment
 *   and its appearance (its `created_at`).
 * @property {number} reviewAppCreationMs How long Scalingo takes to create a review app (add-ons provisioned) after
 *   manual_review_app: meanwhile its app exists with status `new` and its own link answers 404 `scm_repo_link`.
 * @property {boolean} deployOnePerApp Deployments of one app never run in parallel: a later one stays `queued` until
 *   the earlier one ends.
 * @property {number} maxRunningDeployments At most this many deployments of one owner run at once (the others stay
 *   `queued`); 0 = no limit.
 * @property {number | undefined} rateLimitPerMinute Off when undefined or 0.
 * @property {number | undefined} rateLimitWindowMs The limit's window, 60 s unless set (tests scale it down).
 */

/**
 * @typedef {object} BearerRecord
 * @property {string} token
 * @property {number} expiresAt Epoch ms.
 * @property {boolean} revoked
 */

/**
 * @typedef {object} FakeScalingoState
 * @property {Scenario} scenario
 * @property {Person} user
 * @property {Integration[]} integrations
 * @property {Region[]} regions
 * @property {Record<string, AppRecord>} apps By app name.
 * @property {Record<string, ScmRepoLink>} links By app name.
 * @property {DeploymentRecord[]} deployments In creation order.
 * @property {ReviewAppRecord[]} reviewApps In creation order.
 * @property {Record<string, string>} branchHeads Branch → commit SHA used as `git_ref`
 *   (other branches get a stable fake SHA).
 * @property {BearerRecord[]} bearers Every bearer token issued.
 * @property {{ app: string, branch: string }[]} pendingAutoDeploys Pushes to a branch an auto-deploying link follows,
 *   waiting for the commit's CI checks (`checksPassed()`).
 */

/**
 * @typedef {object} ReviewAppSeed
 * @property {number} pr
 * @property {string} [head_branch] Default from `pulls`, else `feature-<pr>`.
 * @property {string} [app_name] Default `<parent>-pr<pr>`.
 * @property {string} [parent] Default: the first linked app.
 * @property {boolean} [manual] Created by manual_review_app (default true); false: by Scalingo's automatic review apps.
 * @property {boolean} [closed] Its pull request is closed already (a manual one is then not kept, as on Scalingo:
 *   seed it closed with `manual: false`).
 * @property {boolean} [auto_deploy_enabled] Its own link's setting (default true, as Scalingo creates it).
 */

/**
 * @typedef {object} FakeScalingoOptions
 * @property {string[]} [tokens] Default `['tk-us-test-0123456789abcdef']`.
 * @property {number} [bearerTtlSeconds] Default 3600.
 * @property {Partial<Person>} [user]
 * @property {Partial<Integration>[]} [integrations] Default: one github.com integration.
 * @property {Partial<Region>[]} [regions] Default: osc-fr1, whose `api` is the fake API.
 * @property {Record<string, { id?: string, url?: string, base_url?: string }>} [apps] Default `{ 'my-app': {} }`.
 * @property {Record<string, LinkSettings & { source?: string, auth_integration_uuid?: string }>} [links]
 *   Default: every app linked to https://github.com/octo-org/octo-repo, branch main. `{}` = no link.
 * @property {Record<string, string>} [branchHeads]
 * @property {Record<string, PullSettings>} [pulls]
 * @property {ReviewAppSeed[]} [reviewApps] Existing review apps, each with one successful deployment.
 * @property {DeployScript} [deployScript] Default `['queued','building','pushing','starting','success']`.
 * @property {Record<string, DeployScript>} [deployScripts]
 * @property {string[]} [unreachableRepos]
 * @property {'full' | 'empty-object' | 'no-body'} [reviewAppResponse] Default 'full'.
 * @property {'error' | 'ok'} [reviewAppExists] Default 'error'.
 * @property {'pending' | 'passed'} [reviewAppChecks] Default 'pending'.
 * @property {number} [reviewAppDeploymentDelay] Default 0.
 * @property {number} [reviewAppDeploymentDelayMs] Default 0.
 * @property {number} [reviewAppCreationMs] Default 0: the creation ends within manual_review_app.
 * @property {boolean} [deployOnePerApp] Default true, as on Scalingo.
 * @property {number} [maxRunningDeployments] Default 10, Scalingo's limit per owner (doc.scalingo.com); 0 = none.
 * @property {number} [rateLimitPerMinute] Default off; counted per server.
 * @property {number} [rateLimitWindowMs] Default 60000: the window `rateLimitPerMinute` counts over.
 * @property {FaultRule[]} [faults]
 * @property {Record<string, DeploymentSeed[]>} [deployments] Past deployments per app name, oldest first.
 * @property {(record: RecordedRequest) => void} [onRequest] Called when each exchange is over.
 */

/**
 * A past deployment (trigger `seed`), already finished.
 * @typedef {object} DeploymentSeed
 * @property {string} status Its final status.
 * @property {string} [branch] Default: the link's branch.
 * @property {string} [git_ref]
 * @property {number} [ageMs] How long ago it was created. Default: 10 minutes per later seed, plus 10.
 */

// ---------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------

const DEFAULT_TOKEN = 'tk-us-test-0123456789abcdef';
const DEFAULT_SOURCE = 'https://github.com/octo-org/octo-repo';
const DEFAULT_SCRIPT = ['queued', 'building', 'pushing', 'starting', 'success'];
/** @type {Person} */
const DEFAULT_USER = {
  id: 'us-0f1e2d3c-4b5a-4697-8877-665544332211',
  username: 'test-user',
  email: 'test-user@example.com',
};
/** @type {Person} */
const PLATFORM_PUSHER = {
  id: 'us-scalingo-platform-scm',
  username: 'scalingo-platform-scm',
  email: 'deploy-scm@scalingo.com',
};
/** @type {Partial<Region>[]} */
const DEFAULT_REGIONS = [{ name: 'osc-fr1', display_name: 'Paris - 3DS Outscale' }];
/** @type {Record<string, string>} */
const SCM_ROOTS = { github: 'https://github.com', gitlab: 'https://gitlab.com' };
const IN_PROGRESS = new Set(['queued', 'building', 'pushing', 'starting']);
/** @type {[number, string][]} Share of a timed script's duration → status until then. */
const TIMED_PHASES = [
  [0.05, 'queued'],
  [0.6, 'building'],
  [0.75, 'pushing'],
  [1, 'starting'],
];
const LINK_FLAGS = /** @type {const} */ ([
  'auto_deploy_enabled',
  'deploy_review_apps_enabled',
  'delete_on_close_enabled',
  'delete_stale_enabled',
  'automatic_creation_from_forks_allowed',
]);
const LINK_HOURS = /** @type {const} */ (['hours_before_delete_on_close', 'hours_before_delete_stale']);
/** Go's zero time: how Scalingo shows an unset time (`closed_at` of an open pull request, `last_auto_deploy_at`). */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
/**
 * The "never" of `on_close_deletion_date` (an open pull request): the API docs' example shows `2135-01-17T08:41:44Z`
 * for a review app created at `2023-07-18T16:41:44Z`. How Scalingo computes it is unknown; the fake adds that same
 * offset to the creation time, so that it is far in the future and not one fixed value.
 */
const NEVER_OFFSET_MS = Date.parse('2135-01-17T08:41:44Z') - Date.parse('2023-07-18T16:41:44Z');
/** Scalingo's limit of deployments running at once per owner (doc.scalingo.com, limits). */
const OWNER_RUNNING_LIMIT = 10;

/**
 * A record's own entry (never an inherited property such as `constructor`).
 * @template T
 * @param {Record<string, T>} record
 * @param {string | undefined} key
 * @returns {T | undefined}
 */
const own = (record, key) => (key !== undefined && Object.hasOwn(record, key) ? record[key] : undefined);
/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString();
/** @param {string} seed A stable fake 40-hex commit SHA. */
const fakeSha = (seed) => createHash('sha1').update(seed).digest('hex');
/** A Scalingo-style 24-hex object id. */
const objectId = () => randomBytes(12).toString('hex');
/** @param {unknown} value */
const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** @param {string} status */
const isTerminal = (status) => !IN_PROGRESS.has(status);
/** @param {Person} person @returns {Person} */
const personOf = ({ id, username, email }) => ({ id, username, email });
/** @param {string} resource */
const notFound = (resource) => new HttpError(404, { resource, error: 'not found' });
/** @param {Record<string, string[]>} errors */
const unprocessable = (errors) => new HttpError(422, { errors });

/**
 * Splits a repository web URL into the link's `url` (SCM root), owner and repo.
 * @param {unknown} source
 * @returns {{ url: string, owner: string, repo: string, web: string } | undefined}
 */
function parseSource(source) {
  if (typeof source !== 'string') return undefined;
  let parsed;
  try {
    parsed = new URL(source);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const repo = segments.pop();
  if (!/^https?:$/.test(parsed.protocol) || !repo || segments.length === 0) return undefined;
  const owner = segments.join('/');
  return { url: parsed.origin, owner, repo, web: `${parsed.origin}/${owner}/${repo}` };
}

/**
 * Field errors of a link create/update body (or of a `links` seed).
 * @param {Record<string, unknown>} params
 * @returns {Record<string, string[]>}
 */
function linkFieldErrors(params) {
  /** @type {Record<string, string[]>} */
  const errors = {};
  if ('branch' in params && (typeof params.branch !== 'string' || params.branch.trim() === '')) {
    errors.branch = ["can't be blank"];
  }
  for (const flag of LINK_FLAGS) {
    if (flag in params && typeof params[flag] !== 'boolean') errors[flag] = ['must be a boolean'];
  }
  for (const hours of LINK_HOURS) {
    const value = params[hours];
    if (hours in params && !(Number.isInteger(value) && /** @type {number} */ (value) >= 0)) {
      errors[hours] = ['must be a non-negative integer'];
    }
  }
  return errors;
}

/**
 * The known settings of a (validated) create/update body; other keys are ignored.
 * @param {Record<string, unknown>} params
 * @returns {LinkSettings}
 */
function pickLinkSettings(params) {
  const keys = ['branch', ...LINK_FLAGS, ...LINK_HOURS];
  return Object.fromEntries(keys.filter((key) => key in params).map((key) => [key, params[key]]));
}

/**
 * The wrapped object of a request body, e.g. `{"scm_repo_link": {...}}`.
 * @param {unknown} body
 * @param {string} key
 * @returns {Record<string, unknown>}
 */
function unwrap(body, key) {
  const inner = isObject(body) ? body[key] : undefined;
  if (!isObject(inner)) throw unprocessable({ [key]: ['is missing'] });
  return inner;
}

/**
 * `pull_request_id` of a manual_review_app body: a JSON number or a numeric string.
 * @param {unknown} body
 * @returns {number}
 */
function pullRequestNumber(body) {
  const raw = isObject(body) ? body.pull_request_id : undefined;
  if (raw === undefined || raw === null || raw === '') throw unprocessable({ pull_request_id: ["can't be blank"] });
  const number = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(number) || number <= 0) throw unprocessable({ pull_request_id: ['is invalid'] });
  return number;
}

/**
 * @param {URLSearchParams} query
 * @param {string} name
 * @param {number} fallback
 */
function pageParam(query, name, fallback) {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new HttpError(400, { error: `${name} must be a positive integer` });
  return value;
}

/**
 * Scalingo pagination (`page`, `per_page`, `meta.pagination`).
 * @template T
 * @param {T[]} items
 * @param {URLSearchParams} query
 */
function paginate(items, query) {
  const page = pageParam(query, 'page', 1);
  const perPage = pageParam(query, 'per_page', 10);
  const totalPages = Math.ceil(items.length / perPage);
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    pagination: {
      current_page: page,
      prev_page: page > 1 ? page - 1 : null,
      next_page: page < totalPages ? page + 1 : null,
      total_pages: totalPages,
      total_count: items.length,
    },
  };
}

/**
 * @param {unknown} script
 * @returns {asserts script is DeployScript}
 */
function assertDeployScript(script) {
  const valid = Array.isArray(script)
    ? script.length > 0 && script.every((status) => typeof status === 'string')
    : isObject(script) &&
      typeof script.durationMs === 'number' &&
      script.durationMs >= 0 &&
      typeof script.final === 'string';
  if (!valid) throw new TypeError(`invalid deploy script: ${JSON.stringify(script)}`);
}

/**
 * The status a script gives a deployment now: `queued` until it leaves the queue, then its script's from that moment.
 * @param {DeploymentRecord} deployment
 * @param {number} now
 */
function scriptedStatus({ script, reads, startedAt }, now) {
  if (startedAt === null || now < startedAt) return 'queued';
  if (Array.isArray(script)) return script[Math.min(reads, script.length - 1)] ?? 'queued';
  const progress = script.durationMs > 0 ? (now - startedAt) / script.durationMs : 1;
  return TIMED_PHASES.find(([until]) => progress < until)?.[1] ?? script.final;
}

/**
 * When a running deployment ends (epoch ms), as far as known now: a timed script's end is fixed from its start, a list
 * script's is when a read first showed it terminal (Infinity until then).
 * @param {DeploymentRecord} deployment
 */
function endOf({ script, startedAt, finalAt }) {
  if (startedAt === null) return Infinity;
  if (finalAt !== null) return finalAt;
  return Array.isArray(script) ? Infinity : startedAt + script.durationMs;
}

/**
 * The branch of a GitHub head label (`owner:branch`), or the name itself when it is a bare branch.
 * @param {string} name
 */
const bareBranch = (name) => name.slice(name.indexOf(':') + 1);

/** @type {Record<string, string[]>} Last lines of the build log of failed deployments. */
const FAILURE_LINES = {
  aborted: [' !     Deployment aborted'],
  'build-error': [
    '       npm error code 1',
    '       npm error command failed: npm run build',
    ' !     Build failed: the build command exited with status 1',
  ],
  'crashed-error': [
    ' !     Your application crashed while starting (exit status 1), check the logs of your application',
  ],
  'timeout-error': [' !     Timeout: your application did not listen on $PORT within 60 seconds'],
  'hook-error': [' Running postdeploy hook: npm run migrate', ' !     The postdeploy hook failed (exit status 1)'],
};

/**
 * A buildpack log consistent with the deployment's current status.
 * @param {AppRecord} app
 * @param {DeploymentRecord} deployment
 * @param {string} status
 */
function buildLog(app, deployment, status) {
  if (status === 'queued') return '';
  const lines = [
    `<-- Start deployment of ${app.name} -->`,
    ` Fetching source code (${deployment.branch} @ ${deployment.gitRef.slice(0, 7)})`,
    ' Fetching deployment cache',
    '-----> Downloading Buildpack: https://github.com/Scalingo/nodejs-buildpack',
    '-----> Installing binaries',
    '       engines.node (package.json):  20.x',
    '       Resolving node version 20.x...',
    '-----> Installing dependencies',
    '       Installing node modules (package-lock.json)',
  ];
  if (status === 'building') return `${lines.join('\n')}\n`;
  if (status === 'aborted' || status === 'build-error') {
    return `${[...lines, ...(FAILURE_LINES[status] ?? [])].join('\n')}\n`;
  }
  lines.push(
    '       added 412 packages in 9s',
    '-----> Build',
    '       Running build (npm run build)',
    '-----> Build succeeded!',
    ' Build complete, shipping your container...',
  );
  if (status !== 'pushing') lines.push(' Waiting for your application to boot...');
  if (status === 'success') lines.push(` <-- ${app.url} -->`);
  else if (isTerminal(status))
    lines.push(...(FAILURE_LINES[status] ?? [` !     Deployment ended with status ${status}`]));
  return `${lines.join('\n')}\n`;
}

/**
 * Pull request URLs as the SCM shows them.
 * @param {ScmRepoLink} link
 * @param {number} number
 */
function pullUrls(link, number) {
  const path = `${link.owner}/${link.repo}`;
  if (link.scm_type.startsWith('gitlab')) {
    return {
      url: `${link.url}/api/v4/projects/${encodeURIComponent(path)}/merge_requests/${number}`,
      html_url: `${link.url}/${path}/-/merge_requests/${number}`,
    };
  }
  const api = link.url === SCM_ROOTS.github ? 'https://api.github.com' : `${link.url}/api/v3`;
  return { url: `${api}/repos/${path}/pulls/${number}`, html_url: `${link.url}/${path}/pull/${number}` };
}

/**
 * @param {ScmRepoLink} link
 * @param {string} sha
 */
function commitUrl(link, sha) {
  const separator = link.scm_type.startsWith('gitlab') ? '/-/commit/' : '/commit/';
  return `${link.url}/${link.owner}/${link.repo}${separator}${sha}`;
}

// ---------------------------------------------------------------------------
// The simulation
// ---------------------------------------------------------------------------
/** The simulated world: its state, and what each request the product sends does to it. */
export class ScalingoSimulation {
  /** Set by `attach()` once the API server listens. */
  apiUrl = '';

  /** @param {FakeScalingoOptions} options */
  constructor(options) {
    const user = { ...DEFAULT_USER, ...options.user };
    this.regionSeeds = options.regions ?? DEFAULT_REGIONS;
    /** @type {FakeScalingoState} */
    this.state = {
      scenario: {
        tokens: options.tokens ?? [DEFAULT_TOKEN],
        bearerTtlSeconds: options.bearerTtlSeconds ?? 3600,
        deployScript: options.deployScript ?? DEFAULT_SCRIPT,
        deployScripts: options.deployScripts ?? {},
        pulls: options.pulls ?? {},
        unreachableRepos: options.unreachableRepos ?? [],
        reviewAppResponse: options.reviewAppResponse ?? 'full',
        reviewAppExists: options.reviewAppExists ?? 'error',
        reviewAppChecks: options.reviewAppChecks ?? 'pending',
        reviewAppDeploymentDelay: options.reviewAppDeploymentDelay ?? 0,
        reviewAppDeploymentDelayMs: options.reviewAppDeploymentDelayMs ?? 0,
        reviewAppCreationMs: options.reviewAppCreationMs ?? 0,
        deployOnePerApp: options.deployOnePerApp ?? true,
        maxRunningDeployments: options.maxRunningDeployments ?? OWNER_RUNNING_LIMIT,
        rateLimitPerMinute: options.rateLimitPerMinute,
        rateLimitWindowMs: options.rateLimitWindowMs,
      },
      user,
      integrations: (options.integrations ?? [{}]).map((seed, index) => buildIntegration(seed, index, user)),
      regions: [],
      apps: {},
      links: {},
      deployments: [],
      reviewApps: [],
      branchHeads: { ...options.branchHeads },
      bearers: [],
      pendingAutoDeploys: [],
    };
    this.checkScenario();

    const appSeeds = options.apps ?? { 'my-app': {} };
    const linkSeeds = options.links ?? Object.fromEntries(Object.keys(appSeeds).map((name) => [name, {}]));
    for (const name of new Set([...Object.keys(appSeeds), ...Object.keys(linkSeeds)])) {
      this.addApp(name, appSeeds[name] ?? {});
    }
    for (const [name, seed] of Object.entries(linkSeeds)) this.seedLink(name, seed);
    for (const seed of options.reviewApps ?? []) this.seedReviewApp(seed);
    for (const [name, seeds] of Object.entries(options.deployments ?? {})) this.seedDeployments(name, seeds);
  }

  /**
   * Past deployments of an app, oldest first, each finished with its status.
   * @param {string} appName
   * @param {DeploymentSeed[]} seeds
   */
  seedDeployments(appName, seeds) {
    const app = this.app(appName);
    seeds.forEach((seed, index) => {
      const now = Date.now();
      const createdAt = now - (seed.ageMs ?? (seeds.length - index) * 10 * 60_000);
      const deployment = this.createDeployment(app, seed.branch ?? this.link(app).branch, 'seed', {
        createdAt,
        // Finished already: it took a minute, or the time since it was made if that is shorter.
        finalAt: Math.min(createdAt + 60_000, now),
        script: [seed.status],
      });
      if (seed.git_ref) deployment.gitRef = seed.git_ref;
    });
  }

  /**
   * Completes the world once the API URL is known.
   * @param {string} apiUrl
   */
  attach(apiUrl) {
    this.apiUrl = apiUrl;
    this.state.regions = this.regionSeeds.map((seed, index) => buildRegion(seed, index, apiUrl));
  }

  /** Validates the scenario knobs that could make the simulation fail later. */
  checkScenario() {
    const { deployScript, deployScripts } = this.state.scenario;
    for (const script of [deployScript, ...Object.values(deployScripts)]) assertDeployScript(script);
  }

  // --- authentication -------------------------------------------------------

  /** @param {IncomingCall} call */
  exchangeToken(call) {
    const [scheme, encoded = ''] = (call.headers.authorization ?? '').split(' ');
    const credentials = scheme?.toLowerCase() === 'basic' ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const separator = credentials.indexOf(':');
    const [username, token] = [credentials.slice(0, separator), credentials.slice(separator + 1)];
    if (separator < 0 || username !== '' || !this.state.scenario.tokens.includes(token)) {
      throw new HttpError(401, { error: 'invalid API token' });
    }
    const now = Date.now();
    const expiresAt = now + this.state.scenario.bearerTtlSeconds * 1000;
    const claims = {
      exp: Math.floor(expiresAt / 1000),
      iat: Math.floor(now / 1000),
      sub: this.state.user.id,
      jti: randomUUID(),
    };
    const jwt = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
    this.state.bearers.push({ token: jwt, expiresAt, revoked: false });
    return ok({ token: jwt });
  }

  /** @param {IncomingCall} call */
  requireBearer(call) {
    const token = /^Bearer\s+(\S+)$/i.exec(call.headers.authorization ?? '')?.[1];
    const bearer = this.state.bearers.find((candidate) => candidate.token === token);
    if (!bearer || bearer.revoked) throw new HttpError(401, { error: 'invalid token' });
    if (Date.now() >= bearer.expiresAt) throw new HttpError(401, { error: 'token expired' });
  }

  revokeBearers() {
    for (const bearer of this.state.bearers) bearer.revoked = true;
  }

  /**
   * `GET /v1/users/self` (auth service): the token's user, as the API docs show it (Scalingo's CLI reads it at login).
   * @returns {Reply}
   */
  self() {
    const { id, username, email } = this.state.user;
    const since = Date.parse('2024-01-15T09:30:00.000Z');
    return ok({
      user: {
        id,
        created_at: iso(since),
        email,
        username,
        uuid: id,
        company: '',
        location: '',
        fullname: username,
        tos_accepted: true,
        flags: {},
        limits: { free_trial_apps: '10' },
        referral_url: `https://sclng.io/r/${fakeSha(id).slice(0, 16)}`,
        referral_clicks: 0,
        free_trial_started_at: iso(since),
        free_trial_end_time: iso(since + 30 * 86_400_000),
        suspended_at: null,
        suspension_reason: null,
        email_newsletter: false,
      },
    });
  }

  /**
   * `GET /v1/regions` (auth service): the regions, each with its API (the fake's).
   * @returns {Reply}
   */
  listRegions() {
    return ok({ regions: this.state.regions });
  }

  /**
   * `GET /v1/scm_integrations/:id`: by id, or by SCM type in place of the id, as Scalingo's CLI asks for it.
   * @param {string | undefined} idOrType
   * @returns {Reply}
   */
  showIntegration(idOrType) {
    return ok({ scm_integration: this.integration(idOrType) });
  }

  /** @param {string | undefined} idOrType */
  integration(idOrType) {
    const { integrations } = this.state;
    const found = integrations.find((i) => i.id === idOrType) ?? integrations.find((i) => i.scm_type === idOrType);
    if (!found) throw notFound('scm_integration');
    return found;
  }

  // --- apps -----------------------------------------------------------------

  /**
   * @param {string} name
   * @param {{ id?: string, url?: string, base_url?: string }} seed
   */
  addApp(name, seed) {
    const region = this.regionSeeds[0]?.name ?? 'osc-fr1';
    const now = iso(Date.now());
    const baseUrl = seed.base_url ?? `https://${name}.${region}.scalingo.io`;
    /** @type {AppRecord} */
    const app = {
      id: seed.id ?? objectId(),
      name,
      region,
      url: seed.url ?? baseUrl,
      base_url: baseUrl,
      git_url: `git@ssh.${region}.scalingo.com:${name}.git`,
      created_at: now,
      updated_at: now,
      owner: personOf(this.state.user),
      links: { deployments_stream: `wss://deployments.${region}.scalingo.com/apps/${name}` },
    };
    this.state.apps[name] = app;
    return app;
  }

  /** @param {string | undefined} nameOrId */
  app(nameOrId) {
    const { apps } = this.state;
    const found = own(apps, nameOrId) ?? Object.values(apps).find((app) => app.id === nameOrId);
    if (!found) throw notFound('app');
    return found;
  }

  /** @param {AppRecord} app */
  appView(app) {
    // As on Scalingo, `last_deployment_id` is the last SUCCESSFUL deployment, not the newest one.
    const lastSuccess = this.deploymentsOf(app).find((deployment) => this.observe(deployment) === 'success');
    return { ...app, status: lastSuccess ? 'running' : 'new', last_deployment_id: lastSuccess?.id ?? null };
  }

  // --- SCM repo links -------------------------------------------------------

  /**
   * `GET /v1/scm_repo_links`: every link of the user, review apps' own links included (they point at the same
   * repository as their parent), paginated (`page`, `per_page`, `meta.pagination`), in the order the links were made;
   * `auth_integration_uuid` filters on the integration.
   * @param {IncomingCall} call
   */
  listLinks(call) {
    const integration = call.query.get('auth_integration_uuid');
    const links = Object.values(this.state.links).filter(
      (link) => !integration || link.auth_integration_uuid === integration,
    );
    const { items, pagination } = paginate(links, call.query);
    return ok({ scm_repo_links: items, meta: { pagination } });
  }

  /** @param {AppRecord} app */
  link(app) {
    const found = own(this.state.links, app.name);
    if (!found) throw notFound('scm_repo_link');
    return found;
  }

  /**
   * @param {AppRecord} app
   * @param {{ url: string, owner: string, repo: string }} repository
   * @param {Integration} integration
   * @param {LinkSettings} settings
   * @returns {ScmRepoLink}
   */
  newLink(app, repository, integration, settings) {
    const now = iso(Date.now());
    const link = {
      id: randomUUID(),
      app_id: app.id,
      linker: personOf(this.state.user),
      url: repository.url,
      owner: repository.owner,
      repo: repository.repo,
      branch: 'main',
      scm_type: integration.scm_type,
      created_at: now,
      updated_at: now,
      auto_deploy_enabled: false,
      auth_integration_uuid: integration.id,
      deploy_review_apps_enabled: false,
      delete_on_close_enabled: false,
      delete_stale_enabled: false,
      hours_before_delete_on_close: 0,
      hours_before_delete_stale: 0,
      last_auto_deploy_at: GO_ZERO_TIME,
      automatic_creation_from_forks_allowed: false,
      ...settings,
    };
    this.state.links[app.name] = link;
    return link;
  }

  /**
   * @param {string} appName
   * @param {LinkSettings & { source?: string, auth_integration_uuid?: string }} seed
   */
  seedLink(appName, seed) {
    const repository = parseSource(seed.source ?? DEFAULT_SOURCE);
    const errors = linkFieldErrors(seed);
    if (!repository || Object.keys(errors).length > 0) {
      throw new TypeError(`invalid links['${appName}'] option: ${JSON.stringify({ source: seed.source, ...errors })}`);
    }
    const { integrations } = this.state;
    const integration = seed.auth_integration_uuid
      ? integrations.find((i) => i.id === seed.auth_integration_uuid)
      : (integrations.find((i) => i.url === repository.url) ?? integrations[0]);
    if (!integration) throw new TypeError(`links['${appName}'] option: no matching SCM integration`);
    this.newLink(this.app(appName), repository, integration, pickLinkSettings(seed));
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  createLink(call, app) {
    const params = { ...unwrap(call.body, 'scm_repo_link') };
    // Scalingo's CLI sends `"branch": ""` when no branch is given: the repository's default branch.
    if (params.branch === '') delete params.branch;
    if (own(this.state.links, app.name)) throw unprocessable({ app: ['is already linked to a repository'] });
    const errors = linkFieldErrors(params);
    const repository = parseSource(params.source);
    if (params.source === undefined || params.source === null || params.source === '')
      errors.source = ["can't be blank"];
    else if (!repository) errors.source = ['is invalid'];
    const integration = this.state.integrations.find((i) => i.id === params.auth_integration_uuid);
    if (!params.auth_integration_uuid) errors.auth_integration_uuid = ["can't be blank"];
    else if (!integration) errors.auth_integration_uuid = ['does not match any of your SCM integrations'];
    else if (repository && repository.url !== integration.url) {
      errors.auth_integration_uuid = [`is an integration for ${integration.url}, not ${repository.url}`];
    }
    if (!repository || !integration || Object.keys(errors).length > 0) throw unprocessable(errors);
    const unreachable = this.state.scenario.unreachableRepos.map((source) => parseSource(source)?.web ?? source);
    if (unreachable.includes(repository.web))
      throw new HttpError(404, { error: 'repository not found or not accessible' });
    return {
      status: 201,
      json: { scm_repo_link: this.newLink(app, repository, integration, pickLinkSettings(params)) },
    };
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  updateLink(call, app) {
    const link = this.link(app);
    const params = unwrap(call.body, 'scm_repo_link');
    const errors = linkFieldErrors(params);
    if (Object.keys(errors).length > 0) throw unprocessable(errors);
    Object.assign(link, pickLinkSettings(params), { updated_at: iso(Date.now()) });
    return ok({ scm_repo_link: link });
  }

  /** @param {AppRecord} app */
  deleteLink(app) {
    this.link(app);
    delete this.state.links[app.name];
    return { status: 204 };
  }

  // --- deployments ----------------------------------------------------------

  /**
   * A new deployment, queued: it leaves the queue at once unless another deployment of its app runs, or the owner
   * runs as many as Scalingo allows (see `schedule`).
   * @param {AppRecord} app
   * @param {string} branch
   * @param {DeploymentTrigger} trigger
   * @param {{ pusher?: Person, createdAt?: number, finalAt?: number, script?: DeployScript }} [overrides]
   */
  createDeployment(app, branch, trigger, overrides = {}) {
    const { scenario } = this.state;
    const link = this.link(app);
    const createdAt = overrides.createdAt ?? Date.now();
    /** @type {DeploymentRecord} */
    const deployment = {
      id: randomUUID(),
      appName: app.name,
      trigger,
      branch,
      gitRef: this.headOf(link, branch),
      previousGitRef: this.deploymentsOf(app)[0]?.gitRef ?? null,
      pusher: overrides.pusher ?? personOf(this.state.user),
      createdAt,
      // A past deployment (a seed) ran when it was made.
      startedAt: overrides.finalAt === undefined ? null : createdAt,
      script: overrides.script ?? own(scenario.deployScripts, app.name) ?? scenario.deployScript,
      reads: 0,
      finalAt: overrides.finalAt ?? null,
    };
    this.state.deployments.push(deployment);
    if (trigger === 'auto_deploy' || trigger === 'review_app') link.last_auto_deploy_at = iso(createdAt);
    this.schedule(createdAt);
    return deployment;
  }

  /**
   * Takes deployments out of the queue, as Scalingo does, at the moment each could leave it (not when this runs):
   * in creation order, once no earlier deployment of its app runs (`deployOnePerApp`) and the owner runs fewer than
   * `maxRunningDeployments` (every app of the fake has the one user as owner).
   * @param {number} [now]
   */
  schedule(now = Date.now()) {
    const { deployments, scenario } = this.state;
    const queued = deployments.filter((deployment) => deployment.startedAt === null);
    if (queued.length === 0) return;
    const limit = scenario.maxRunningDeployments > 0 ? scenario.maxRunningDeployments : Infinity;
    // A list script that a read showed terminal ended then.
    for (const deployment of deployments) {
      if (deployment.startedAt !== null && deployment.finalAt === null && Array.isArray(deployment.script))
        this.observe(deployment, now);
    }
    /** @param {DeploymentRecord} candidate @param {number} at */
    const canStart = (candidate, at) => {
      const index = deployments.indexOf(candidate);
      if (
        scenario.deployOnePerApp &&
        deployments.some((other, i) => i < index && other.appName === candidate.appName && endOf(other) > at)
      )
        return false;
      const running = deployments.filter(
        (other) => other.startedAt !== null && other.startedAt <= at && endOf(other) > at,
      );
      return running.length < limit;
    };
    for (;;) {
      const ends = deployments.map(endOf).filter((at) => at <= now);
      const times = [...new Set([...queued.map((deployment) => deployment.createdAt), ...ends])]
        .filter((at) => at <= now)
        .sort((a, b) => a - b);
      let started = false;
      for (const at of times) {
        const next = queued.find((deployment) => deployment.createdAt <= at && canStart(deployment, at));
        if (!next) continue;
        next.startedAt = at;
        queued.splice(queued.indexOf(next), 1);
        started = true;
        break;
      }
      if (!started || queued.length === 0) return;
    }
  }

  /**
   * The running list-scripted deployment a queued one waits for, if any (the earlier one of its app, else the oldest
   * of the owner when the owner's limit holds it).
   * @param {DeploymentRecord} deployment
   */
  blockerOf(deployment) {
    const { deployments } = this.state;
    const earlier = deployments.slice(0, deployments.indexOf(deployment));
    const running = earlier.filter(
      (other) => other.startedAt !== null && endOf(other) === Infinity && Array.isArray(other.script),
    );
    return running.find((other) => other.appName === deployment.appName) ?? running[0];
  }

  /**
   * @param {ScmRepoLink} link
   * @param {string} branch
   */
  headOf(link, branch) {
    return own(this.state.branchHeads, branch) ?? fakeSha(`${link.url}/${link.owner}/${link.repo}#${branch}`);
  }

  /**
   * Newest first.
   * @param {AppRecord} app
   */
  deploymentsOf(app) {
    return this.state.deployments.filter((deployment) => deployment.appName === app.name).reverse();
  }

  /**
   * @param {AppRecord} app
   * @param {string | undefined} id
   */
  deployment(app, id) {
    const found = this.state.deployments.find((deployment) => deployment.id === id && deployment.appName === app.name);
    if (!found) throw notFound('deployment');
    return found;
  }

  /**
   * Current status, without advancing the script; records when it became terminal.
   * @param {DeploymentRecord} deployment
   * @param {number} [now]
   */
  observe(deployment, now = Date.now()) {
    const status = scriptedStatus(deployment, now);
    if (isTerminal(status) && deployment.finalAt === null) {
      const { script } = deployment;
      deployment.finalAt = Array.isArray(script)
        ? now
        : (deployment.startedAt ?? deployment.createdAt) + script.durationMs;
    }
    return status;
  }

  /** @param {DeploymentRecord} deployment */
  deploymentView(deployment) {
    const app = this.app(deployment.appName);
    const status = this.observe(deployment);
    const finalAt = isTerminal(status) ? deployment.finalAt : null;
    return {
      id: deployment.id,
      app_id: app.id,
      created_at: iso(deployment.createdAt),
      status,
      git_ref: deployment.gitRef,
      previous_git_ref: deployment.previousGitRef,
      pusher: deployment.pusher,
      links: { output: `${this.apiUrl}/v1/apps/${app.id}/deployments/${deployment.id}/output` },
      finished_at: finalAt === null ? null : iso(finalAt),
      duration: finalAt === null ? 0 : Math.round((finalAt - deployment.createdAt) / 1000),
      image_size: status === 'success' ? 104857600 : 0,
      stack_base_image: 'scalingo-22',
    };
  }

  /**
   * @param {DeploymentRecord} deployment
   * @returns {DeploymentTimeline}
   */
  timeline(deployment) {
    const status = this.observe(deployment);
    return {
      id: deployment.id,
      app: deployment.appName,
      trigger: deployment.trigger,
      branch: deployment.branch,
      git_ref: deployment.gitRef,
      status,
      createdAt: deployment.createdAt,
      startedAt: deployment.startedAt,
      finalAt: isTerminal(status) ? deployment.finalAt : null,
    };
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  listDeployments(call, app) {
    this.releasePendingReviewDeployment(app);
    const { items, pagination } = paginate(this.deploymentsOf(app), call.query);
    return ok({ deployments: items.map((deployment) => this.deploymentView(deployment)), meta: { pagination } });
  }

  /**
   * Each read moves a running list script one step further; a read of a deployment still queued moves the
   * list-scripted deployment it waits for.
   * @param {AppRecord} app
   * @param {string | undefined} id
   */
  showDeployment(app, id) {
    const deployment = this.deployment(app, id);
    if (deployment.startedAt === null) {
      const blocker = this.blockerOf(deployment);
      if (blocker) {
        blocker.reads += 1;
        this.schedule();
      }
    } else {
      deployment.reads += 1;
    }
    return ok({ deployment: this.deploymentView(deployment) });
  }

  /**
   * @param {AppRecord} app
   * @param {string | undefined} id
   * @returns {Reply}
   */
  deploymentOutput(app, id) {
    const deployment = this.deployment(app, id);
    return { status: 200, text: buildLog(app, deployment, this.observe(deployment)), contentType: TEXT_TYPE };
  }

  /**
   * `manual_deploy`: Scalingo deploys a bare branch (or tag) of the linked repository. A GitHub head label
   * (`owner:branch`, as a review app's own link stores its branch) names no branch of it: 404 with an error that names
   * no resource, and nothing is deployed.
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  manualDeploy(call, app) {
    const link = this.link(app);
    const branch = isObject(call.body) ? call.body.branch : undefined;
    if (typeof branch !== 'string' || branch.trim() === '') throw unprocessable({ branch: ["can't be blank"] });
    if (branch.includes(':')) {
      throw new HttpError(404, { error: `branch '${branch}' not found in repository ${link.owner}/${link.repo}` });
    }
    // A review app deployed by hand while its first deployment waits for the checks no longer needs it; one Scalingo
    // already decided still comes.
    const reviewApp = this.state.reviewApps.find((ra) => ra.appName === app.name);
    if (reviewApp?.firstDeployment === 'held') reviewApp.firstDeployment = 'done';
    return ok({ deployment: this.deploymentView(this.createDeployment(app, branch, 'manual_deploy')) });
  }

  // --- pull requests and review apps ----------------------------------------

  /** @param {number} number */
  pullSettings(number) {
    const settings = own(this.state.scenario.pulls, String(number)) ?? {};
    return {
      headBranch: settings.head_branch ?? `feature-${number}`,
      title: settings.title ?? `Pull request #${number}`,
      fork: settings.fork ?? false,
    };
  }

  /**
   * A pull request as `GET …/scm_repo_link/pulls/:number` shows it (inside `pull`).
   * @param {ScmRepoLink} link
   * @param {number} number
   */
  pullView(link, number) {
    const { title, fork } = this.pullSettings(number);
    const sourceRepo = typeof fork === 'string' ? fork : fork ? `forker/${link.repo}` : `${link.owner}/${link.repo}`;
    return {
      id: 100_000 + number,
      number,
      title,
      html_url: pullUrls(link, number).html_url,
      source_repo_name: sourceRepo,
      source_repo_html_url: `${link.url}/${sourceRepo}`,
      opened_from_a_forked_repo: fork !== false,
    };
  }

  /**
   * `GET /v1/apps/:app/scm_repo_link/pulls/:number`: what Scalingo's CLI reads before manual_review_app (is it from
   * a fork?). Every pull request number exists in the fake (`pulls` sets their head branch, title and fork).
   * @param {AppRecord} app
   * @param {string | undefined} raw
   */
  showPull(app, raw) {
    const link = this.link(app);
    const number = Number(raw);
    if (!/^\d+$/.test(raw ?? '') || !Number.isSafeInteger(number) || number <= 0) throw notFound('pull_request');
    return ok({ pull: this.pullView(link, number) });
  }

  /**
   * GitHub's head label of a pull request (`owner:branch`, the owner of the repository it comes from: the fork's owner
   * for a fork): what a review app's own link stores as its branch, and the review app list as `branch_name`.
   * @param {ScmRepoLink} link The parent's link.
   * @param {number} number
   * @param {string} headBranch
   */
  headLabel(link, number, headBranch) {
    const sourceOwner = this.pullView(link, number).source_repo_name.split('/')[0] ?? link.owner;
    return `${sourceOwner}:${headBranch}`;
  }

  /**
   * Creates the review app's app and record; its own link too unless Scalingo is still creating it (`creating`), then
   * `finishCreation` makes it once `readyAt` is past. Not its deployment.
   * @param {AppRecord} parent
   * @param {number} number
   * @param {string} headBranch
   * @param {string} appName
   * @param {boolean} [manual]
   * @param {{ creationMs?: number, checks?: 'pending' | 'passed' }} [creation]
   */
  addReviewApp(parent, number, headBranch, appName, manual = true, creation = {}) {
    const parentLink = this.link(parent);
    if (!own(this.state.apps, appName)) this.addApp(appName, {});
    const createdAt = Date.now();
    /** @type {ReviewAppRecord} */
    const reviewApp = {
      id: randomUUID(),
      parentName: parent.name,
      appName,
      number,
      headBranch,
      createdAt,
      readyAt: createdAt + (creation.creationMs ?? 0),
      parentLink: structuredClone(parentLink),
      manual,
      closedAt: null,
      checks: creation.checks ?? 'passed',
      firstDeployment: creation.creationMs === undefined ? 'done' : 'creating',
      pendingListCalls: null,
      pendingDueAt: null,
    };
    this.state.reviewApps.push(reviewApp);
    if (reviewApp.firstDeployment === 'done') this.addReviewAppLink(reviewApp, createdAt);
    return reviewApp;
  }

  /**
   * The review app's own link, as Scalingo makes it: the parent's repository, the pull request's head label as branch
   * (`owner:branch`), auto-deploy on.
   * @param {ReviewAppRecord} reviewApp
   * @param {number} at
   */
  addReviewAppLink(reviewApp, at) {
    const parentLink = reviewApp.parentLink;
    const link = this.newLink(
      this.app(reviewApp.appName),
      { url: parentLink.url, owner: parentLink.owner, repo: parentLink.repo },
      this.integration(parentLink.auth_integration_uuid),
      {
        ...pickLinkSettings(parentLink),
        branch: this.headLabel(parentLink, reviewApp.number, reviewApp.headBranch),
        auto_deploy_enabled: true,
        deploy_review_apps_enabled: false,
      },
    );
    link.created_at = iso(at);
    link.updated_at = iso(at);
  }

  /**
   * Scalingo ends the review app's creation: its own link appears, and its first deployment waits for the checks, or
   * is decided at once when they passed already.
   * @param {ReviewAppRecord} reviewApp
   * @param {number} at
   */
  finishCreation(reviewApp, at) {
    this.addReviewAppLink(reviewApp, at);
    reviewApp.firstDeployment = 'held';
    if (reviewApp.checks === 'passed') this.passChecks(reviewApp, at);
  }

  /** @param {ReviewAppSeed} seed */
  seedReviewApp(seed) {
    const parentName = seed.parent ?? Object.keys(this.state.links)[0];
    if (!parentName || !own(this.state.links, parentName)) {
      throw new TypeError(`reviewApps option: the parent app '${parentName}' has no link`);
    }
    const parent = this.app(parentName);
    const headBranch = seed.head_branch ?? this.pullSettings(seed.pr).headBranch;
    const reviewApp = this.addReviewApp(
      parent,
      seed.pr,
      headBranch,
      seed.app_name ?? `${parent.name}-pr${seed.pr}`,
      seed.manual ?? true,
    );
    const createdAt = Date.now() - 10 * 60_000;
    reviewApp.createdAt = createdAt;
    reviewApp.readyAt = createdAt;
    if (seed.auto_deploy_enabled !== undefined)
      this.link(this.app(reviewApp.appName)).auto_deploy_enabled = seed.auto_deploy_enabled;
    this.createDeployment(this.app(reviewApp.appName), headBranch, 'seed', {
      pusher: PLATFORM_PUSHER,
      createdAt,
      finalAt: createdAt + 90_000,
      script: ['success'],
    });
    if (seed.closed) this.closePull(seed.pr, parent.name);
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} parent
   */
  manualReviewApp(call, parent) {
    this.link(parent);
    const number = pullRequestNumber(call.body);
    const { scenario } = this.state;
    const existing = this.state.reviewApps.find((ra) => ra.parentName === parent.name && ra.number === number);
    if (existing) {
      if (scenario.reviewAppExists === 'error') {
        throw unprocessable({ pull_request_id: ['a review app already exists for this pull request'] });
      }
      return this.reviewAppReply(existing);
    }
    const reviewApp = this.addReviewApp(
      parent,
      number,
      this.pullSettings(number).headBranch,
      `${parent.name}-pr${number}`,
      true,
      {
        creationMs: scenario.reviewAppCreationMs,
        checks: scenario.reviewAppChecks,
      },
    );
    if (scenario.reviewAppCreationMs <= 0) this.finishCreation(reviewApp, reviewApp.createdAt);
    return this.reviewAppReply(reviewApp);
  }

  /**
   * The CI checks of a review app's commit passed. Once it is created and its first deployment waits, Scalingo decides
   * it if its own link auto-deploys at that moment; the deployment then appears after `reviewAppDeploymentDelay`
   * deployment-list calls and `reviewAppDeploymentDelayMs`, whatever happens to the link meanwhile.
   * @param {ReviewAppRecord} reviewApp
   * @param {number} [at]
   */
  passChecks(reviewApp, at = Date.now()) {
    reviewApp.checks = 'passed';
    if (reviewApp.firstDeployment !== 'held') return;
    if (!own(this.state.links, reviewApp.appName)?.auto_deploy_enabled) {
      reviewApp.firstDeployment = 'done';
      return;
    }
    const { reviewAppDeploymentDelay, reviewAppDeploymentDelayMs } = this.state.scenario;
    reviewApp.firstDeployment = 'pending';
    // With a list-call delay, it appears on a deployment-list call only (the one after those it waits for).
    reviewApp.pendingListCalls = reviewAppDeploymentDelay > 0 ? reviewAppDeploymentDelay : null;
    reviewApp.pendingDueAt = at + Math.max(0, reviewAppDeploymentDelayMs);
    if (reviewApp.pendingListCalls === null && reviewApp.pendingDueAt <= Date.now())
      this.startFirstDeployment(reviewApp, reviewApp.pendingDueAt);
  }

  /**
   * @param {ReviewAppRecord} reviewApp
   * @param {number} createdAt
   */
  startFirstDeployment(reviewApp, createdAt) {
    reviewApp.firstDeployment = 'done';
    reviewApp.pendingListCalls = null;
    reviewApp.pendingDueAt = null;
    this.createDeployment(this.app(reviewApp.appName), reviewApp.headBranch, 'review_app', {
      pusher: PLATFORM_PUSHER,
      createdAt,
    });
  }

  /**
   * What happened by itself since the last look, in time order: review apps' creations that ended, first deployments
   * that came due, deployments that left the queue. Called on every request, by the stream and by the test triggers.
   * @param {number} [now]
   */
  tick(now = Date.now()) {
    for (const reviewApp of [...this.state.reviewApps]) {
      if (reviewApp.firstDeployment === 'creating' && reviewApp.readyAt <= now)
        this.finishCreation(reviewApp, reviewApp.readyAt);
      if (
        reviewApp.firstDeployment === 'pending' &&
        reviewApp.pendingListCalls === null &&
        (reviewApp.pendingDueAt ?? 0) <= now
      ) {
        this.startFirstDeployment(reviewApp, reviewApp.pendingDueAt ?? now);
      }
    }
    this.schedule(now);
  }

  /**
   * Test trigger: every pending CI check passes. Held first deployments of review apps are decided (see
   * `passChecks`), those of review apps still being created will be at the creation's end, and pushes to branches of
   * auto-deploying links deploy, if the link still auto-deploys that branch.
   * @param {string} [appName] Only this app (review app or not).
   */
  checksPassed(appName) {
    this.tick();
    for (const reviewApp of this.state.reviewApps) {
      if (appName === undefined || reviewApp.appName === appName) this.passChecks(reviewApp);
    }
    const due = this.state.pendingAutoDeploys.filter((p) => appName === undefined || p.app === appName);
    this.state.pendingAutoDeploys = this.state.pendingAutoDeploys.filter((p) => !due.includes(p));
    for (const { app, branch } of due) {
      const link = own(this.state.links, app);
      if (link?.auto_deploy_enabled && bareBranch(link.branch) === branch) {
        this.createDeployment(this.app(app), branch, 'auto_deploy', { pusher: PLATFORM_PUSHER });
      }
    }
  }

  /**
   * Test trigger: a push to `branch` (a new head commit when `sha` is given). Every link that auto-deploys that
   * branch (review apps' own links, which store it as `owner:branch`, included) will deploy it once the commit's checks
   * pass (`checksPassed()`).
   * @param {string} branch
   * @param {string} [sha]
   */
  push(branch, sha) {
    this.tick();
    if (sha) this.state.branchHeads[branch] = sha;
    for (const [app, link] of Object.entries(this.state.links)) {
      if (link.auto_deploy_enabled && bareBranch(link.branch) === branch)
        this.state.pendingAutoDeploys.push({ app, branch });
    }
  }

  /**
   * Test trigger: pull request `number` of `parentName` closes. Scalingo deletes a manually created review app at
   * once (the app, its link and its entry in the list: the app then answers 404); one it created by itself stays,
   * with its `on_close_deletion_date` when the parent link deletes on close.
   * @param {number} number
   * @param {string} [parentName] Default: every parent.
   */
  closePull(number, parentName) {
    this.tick();
    const now = Date.now();
    for (const reviewApp of [...this.state.reviewApps]) {
      if (reviewApp.number !== number || (parentName !== undefined && reviewApp.parentName !== parentName)) continue;
      reviewApp.closedAt = now;
      if (!reviewApp.manual) continue;
      this.state.reviewApps = this.state.reviewApps.filter((ra) => ra !== reviewApp);
      // Its deployments still under way end with it (they no longer hold a place in the owner's queue).
      for (const deployment of this.state.deployments) {
        if (deployment.appName !== reviewApp.appName || !IN_PROGRESS.has(this.observe(deployment, now))) continue;
        Object.assign(deployment, {
          script: ['aborted'],
          reads: 0,
          startedAt: deployment.startedAt ?? now,
          finalAt: now,
        });
      }
      delete this.state.links[reviewApp.appName];
      delete this.state.apps[reviewApp.appName];
      this.state.pendingAutoDeploys = this.state.pendingAutoDeploys.filter((p) => p.app !== reviewApp.appName);
    }
  }

  /**
   * A deployment-list call on a review app whose first deployment is decided: it counts towards
   * `reviewAppDeploymentDelay`, and makes the deployment appear once that is reached and its time is due.
   * @param {AppRecord} app
   */
  releasePendingReviewDeployment(app) {
    const reviewApp = this.state.reviewApps.find((ra) => ra.appName === app.name && ra.firstDeployment === 'pending');
    if (!reviewApp || reviewApp.pendingListCalls === null) return; // it waits for its time only (see tick)
    if (reviewApp.pendingListCalls > 0) {
      reviewApp.pendingListCalls -= 1;
      return;
    }
    const now = Date.now();
    if ((reviewApp.pendingDueAt ?? 0) <= now) this.startFirstDeployment(reviewApp, now);
  }

  /**
   * @param {ReviewAppRecord} reviewApp
   * @returns {Reply}
   */
  reviewAppReply(reviewApp) {
    switch (this.state.scenario.reviewAppResponse) {
      case 'no-body':
        return { status: 200, text: '', contentType: JSON_TYPE };
      case 'empty-object':
        return ok({});
      default:
        return ok({ review_app: this.reviewAppView(reviewApp) });
    }
  }

  /**
   * A review app as the list shows it, with Scalingo's dates: `on_close_deletion_date` is a far-future "never" while
   * its pull request is open (or when the parent link does not delete on close), `stale_deletion_date` is its last
   * deployment's time (its creation's before any; plus `hours_before_delete_stale` when the parent link deletes stale
   * review apps), unset times are Go's zero time.
   * @param {ReviewAppRecord} reviewApp
   */
  reviewAppView(reviewApp) {
    const app = this.app(reviewApp.appName);
    const parent = this.app(reviewApp.parentName);
    const link = reviewApp.parentLink;
    const pull = this.pullView(link, reviewApp.number);
    const last = this.deploymentsOf(app)[0];
    // The deletion settings are the parent link's as they are now.
    const settings = own(this.state.links, parent.name) ?? link;
    const hoursAfter = (/** @type {number} */ from, /** @type {number} */ hours) => iso(from + hours * 3_600_000);
    const lastActivity = last?.createdAt ?? reviewApp.createdAt;
    return {
      id: reviewApp.id,
      repo_link_id: link.id,
      app_id: app.id,
      app_name: app.name,
      parent_app_id: parent.id,
      parent_app_name: parent.name,
      created_at: iso(reviewApp.createdAt),
      stale_deletion_date: hoursAfter(
        lastActivity,
        settings.delete_stale_enabled ? settings.hours_before_delete_stale : 0,
      ),
      on_close_deletion_date:
        reviewApp.closedAt !== null && settings.delete_on_close_enabled
          ? hoursAfter(reviewApp.closedAt, settings.hours_before_delete_on_close)
          : iso(reviewApp.createdAt + NEVER_OFFSET_MS),
      pull_request: {
        number: reviewApp.number,
        branch_name: this.headLabel(link, reviewApp.number, reviewApp.headBranch),
        source_repo_id: Number.parseInt(fakeSha(pull.source_repo_name).slice(0, 8), 16),
        source_repo_name: pull.source_repo_name,
        source_repo_url: pull.source_repo_html_url,
        target_repo_id: Number.parseInt(fakeSha(`${link.owner}/${link.repo}`).slice(0, 8), 16),
        title: pull.title,
        ...pullUrls(link, reviewApp.number),
        ref: this.headOf(link, reviewApp.headBranch),
        base_ref: link.branch,
        created_at: iso(reviewApp.createdAt),
        closed_at: reviewApp.closedAt === null ? GO_ZERO_TIME : iso(reviewApp.closedAt),
      },
      last_deployment: last
        ? {
            id: fakeSha(last.id).slice(0, 24),
            upstream_deployment_id: last.id,
            created_at: iso(last.createdAt),
            status: this.observe(last),
            git_ref: last.gitRef,
            scm_link: commitUrl(link, last.gitRef),
            github_link: commitUrl(link, last.gitRef),
            pusher: last.pusher,
          }
        : null,
    };
  }

  /** @param {AppRecord} parent */
  listReviewApps(parent) {
    this.link(parent);
    const reviewApps = this.state.reviewApps.filter((ra) => ra.parentName === parent.name);
    return ok({ review_apps: reviewApps.map((ra) => this.reviewAppView(ra)) });
  }
}

/**
 * @param {Partial<Integration>} seed
 * @param {number} index
 * @param {Person} user
 * @returns {Integration}
 */
function buildIntegration(seed, index, user) {
  const scmType = seed.scm_type ?? 'github';
  const url = seed.url ?? own(SCM_ROOTS, scmType) ?? `https://${scmType}.example.com`;
  const username = seed.username ?? 'octocat';
  const uid = seed.uid ?? String(583231 + index);
  return {
    id: `int-${scmType}-${index + 1}`,
    scm_type: scmType,
    url,
    access_token: 'dummy-scm-access-token',
    uid,
    username,
    email: `${username}@example.com`,
    avatar_url: scmType.startsWith('github')
      ? `https://avatars.githubusercontent.com/u/${uid}`
      : `${url}/uploads/avatar/${uid}.png`,
    profile_url: `${url}/${username}`,
    created_at: iso(Date.now()),
    owner: personOf(user),
    ...seed,
  };
}

/**
 * @param {Partial<Region>} seed
 * @param {number} index
 * @param {string} apiUrl
 * @returns {Region}
 */
function buildRegion(seed, index, apiUrl) {
  const name = seed.name ?? `region-${index + 1}`;
  return {
    name,
    display_name: name,
    api: apiUrl,
    dashboard: `https://my.${name}.scalingo.com`,
    database_api: `https://db-api.${name}.scalingo.com`,
    ssh: `ssh.${name}.scalingo.com:22`,
    default: index === 0,
    ...seed,
  };
}
