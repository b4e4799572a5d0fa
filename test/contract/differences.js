// @ts-check
/**
 * @file THE list of the ways the project's fake Scalingo may answer differently from Scalingo, each with its reason.
 * Nowhere else: the contract test (test/contract/contract.test.ts) fails on any other difference between the fake and
 * Scalingo's documented answers (test/contract/fixtures/), and on any entry here that no longer matches a difference
 * (remove it). The live suite (npm run test:live) reads it too: a difference between the real Scalingo and the fake
 * that is listed here is known; any other is news.
 *
 * In each comparison "expected" is Scalingo (its documented answer, or a recorded one) and "actual" is the fake:
 * `missing` = Scalingo has it, the fake does not; `extra` = the fake has it, Scalingo's answer does not; `null` = the
 * fake gives null where Scalingo gives a value; `type`, `format`, `status`, `content` as in shape.js.
 *
 * `why`:
 * - `fake-behind`: the fake does not yet answer as Scalingo's sources (and the corrections of the API notes) say. The
 *   entry goes away once the fake follows them (`until` says what makes it go).
 * - `sources-disagree`: the docs and the official clients disagree; `reason` says which one the fake follows.
 * - `example-incomplete`: the documented example leaves out fields that the docs' attribute table or an official
 *   client's model have; the fake sends them.
 * - `fake-leaves-out`: fields Scalingo sends that the product never reads; the fake leaves them out.
 */

/**
 * @typedef {object} AllowedDifference
 * @property {string | string[]} answer Fixture answer name(s).
 * @property {string | string[]} path
 * @property {import('./shape.js').Difference['kind']} kind
 * @property {'fake-behind' | 'sources-disagree' | 'example-incomplete' | 'fake-leaves-out'} why
 * @property {string} reason
 * @property {string} [until] What makes the entry go away (fake-behind).
 */

const LINK_ANSWERS = ['link-show', 'link-create', 'link-update'];
/** @param {string} path */
const inLinks = (path) => [`scm_repo_link.${path}`];

/** @type {AllowedDifference[]} */
export const ALLOWED_DIFFERENCES = [
  // --- sources-disagree ----------------------------------------------------------------------------------------------
  {
    answer: 'stream-new',
    path: 'data.deployment',
    kind: 'type',
    why: 'sources-disagree',
    reason:
      'The docs and scalingo.js show data.deployment as the id (a string); the CLI (deployments/follow.go) parses a Deployment object with its pusher. The fake follows the CLI: an object; the product accepts both.',
  },
  {
    answer: 'error-402',
    path: 'name',
    kind: 'extra',
    why: 'sources-disagree',
    reason:
      'The docs\' 402 example has error and url only; the Go client\'s PaymentRequiredError has name too, and the CLI tells a free trial exceeded by name ending in "free-trial-exceeded". The fake follows the Go client.',
  },
  {
    answer: [...LINK_ANSWERS, 'links-list'],
    path: [...inLinks('github_integration_uuid'), 'scm_repo_links[].github_integration_uuid'],
    kind: 'missing',
    why: 'sources-disagree',
    reason:
      "A legacy field of the docs' examples only: not in the docs' attribute table, nor in the Go or JS models (both have auth_integration_uuid, which the fake sends). The fake follows the models.",
  },

  // --- example-incomplete --------------------------------------------------------------------------------------------
  {
    answer: [...LINK_ANSWERS, 'links-list'],
    path: [...inLinks('url'), 'scm_repo_links[].url'],
    kind: 'extra',
    why: 'example-incomplete',
    reason:
      "The SCM root URL (e.g. https://github.com): in the Go and JS SCMRepoLink models, not in the docs' examples nor attribute table.",
  },
  {
    answer: 'app-show',
    path: ['app.base_url', 'app.last_deployment_id'],
    kind: 'extra',
    why: 'example-incomplete',
    reason:
      "In the docs' attribute table of an app (base_url: the URL Scalingo generates; last_deployment_id: the last successful deployment), not in the example of GET /v1/apps/:app.",
  },
  {
    answer: 'app-show',
    path: 'app.region',
    kind: 'extra',
    why: 'example-incomplete',
    reason: "In the Go client's App model (apps.go), not in the docs.",
  },
  {
    answer: 'deployment-show',
    path: ['deployment.status', 'deployment.links'],
    kind: 'extra',
    why: 'example-incomplete',
    reason:
      "The docs' example of one deployment leaves out status and links.output, which its attribute table, the other examples and the Go model have.",
  },
  {
    answer: ['deployment-show', 'deployments-list', 'manual-deploy'],
    path: [
      'deployment.finished_at',
      'deployment.previous_git_ref',
      'deployment.duration',
      'deployments[].finished_at',
      'deployments[].previous_git_ref',
      'deployments[].duration',
    ],
    kind: 'extra',
    why: 'example-incomplete',
    reason:
      "In the docs' example of a created deployment (Trigger manually a deployment), not in these examples; duration is in the Go model too.",
  },
  {
    answer: ['deployments-list', 'manual-deploy'],
    path: ['deployments[].links', 'deployment.links'],
    kind: 'extra',
    why: 'example-incomplete',
    reason: "links.output: in the deployments' attribute table and the Go model, not in these examples.",
  },
  {
    answer: 'manual-deploy',
    path: ['deployment.image_size', 'deployment.stack_base_image'],
    kind: 'extra',
    why: 'example-incomplete',
    reason: "In the deployments' attribute table and the Go model, not in the manual deploy example.",
  },
  {
    answer: 'review-apps-list',
    path: 'review_apps[].last_deployment.pusher.id',
    kind: 'extra',
    why: 'example-incomplete',
    reason:
      "The pusher of the review app list's last deployment has username and email in the docs' example; a deployment's pusher has an id too in the deployments' attribute table and the Go model (User).",
  },

  // --- fake-leaves-out -----------------------------------------------------------------------------------------------
  {
    answer: 'app-show',
    path: [
      'app.project',
      'app.last_deployed_at',
      'app.last_deployed_by',
      'app.force_https',
      'app.sticky_session',
      'app.router_logs',
      'app.limits',
    ],
    kind: 'missing',
    why: 'fake-leaves-out',
    reason:
      'App settings the product never reads (it reads name, url, base_url, last_deployment_id and links.deployments_stream).',
  },
];

/**
 * @param {string | string[]} value
 * @returns {string[]}
 */
const list = (value) => (Array.isArray(value) ? value : [value]);

/**
 * Every (answer, path, kind) an entry allows, as `answer|path|kind` keys.
 * @param {AllowedDifference} entry
 * @returns {string[]}
 */
export function keysOf(entry) {
  return list(entry.answer).flatMap((answer) => list(entry.path).map((path) => `${answer}|${path}|${entry.kind}`));
}

/**
 * The entry that allows a difference, if any.
 * @param {string} answer
 * @param {{ path: string, kind: string }} difference
 * @param {AllowedDifference[]} [allowed]
 * @returns {AllowedDifference | undefined}
 */
export function allowedFor(answer, difference, allowed = ALLOWED_DIFFERENCES) {
  const key = `${answer}|${difference.path}|${difference.kind}`;
  return allowed.find((entry) => keysOf(entry).includes(key));
}
