import { COMMANDS, inputSpec } from './inputs.js';
import { InputError } from './errors.js';
import type { ScmRepoLinkSettings } from '../scalingo/types.js';

export type Command = (typeof COMMANDS)[number];

/** The link settings a user may set. A field that is absent was not given: it is left as it is on Scalingo. */
export type LinkSettings = ScmRepoLinkSettings;

export type LinkField = keyof LinkSettings;

/** Which input sets which link field, in the order they are shown. */
export const LINK_FIELDS: readonly { input: string; field: LinkField; kind: 'string' | 'boolean' | 'integer' }[] = [
  { input: 'branch', field: 'branch', kind: 'string' },
  { input: 'auto-deploy', field: 'auto_deploy_enabled', kind: 'boolean' },
  { input: 'review-apps', field: 'deploy_review_apps_enabled', kind: 'boolean' },
  { input: 'review-apps-from-forks', field: 'automatic_creation_from_forks_allowed', kind: 'boolean' },
  { input: 'delete-on-close', field: 'delete_on_close_enabled', kind: 'boolean' },
  { input: 'hours-before-delete-on-close', field: 'hours_before_delete_on_close', kind: 'integer' },
  { input: 'delete-stale', field: 'delete_stale_enabled', kind: 'boolean' },
  { input: 'hours-before-delete-stale', field: 'hours_before_delete_stale', kind: 'integer' },
];

/** What the CI step is asked to do. The apps are its `apps`; each app's run gets its own as an argument. */
export interface Settings {
  apiToken: string;
  /** Every app given (`app` lists them separated by commas, spaces or newlines); empty: find them (discovery). */
  apps: string[];
  region: string;
  /** Regional API base URL, without `/v1` and without a trailing slash. */
  apiUrl: string;
  authUrl: string;
  command: Command;
  /** Normalised repository URL (`https://host/owner/repo`), or undefined when neither given nor known. */
  source?: string;
  scmIntegration?: string;
  link: LinkSettings;
  pullRequest?: number;
  /** `deploy-branch`: deployed once by `command: deploy` and manual runs; the link keeps following `link.branch`. */
  deployBranch?: string;
  /** The review app's own link `auto_deploy_enabled`, set when the step creates or redeploys one. */
  reviewAppAutoDeploy: boolean;
  /** The label a pull request must carry to get a review app; undefined: every pull request gets one. */
  reviewAppLabel?: string;
  /** Whether a draft pull request gets a review app. */
  reviewAppDrafts: boolean;
  /** Fail when a review app built a newer commit than the pull request's head the run was started for. */
  failOnNewerCommit: boolean;
  wait: boolean;
  /** Print the build output live from the deployments stream while following. */
  logs: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  requestTimeoutMs: number;
  dryRun: boolean;
  failWithoutToken: boolean;
}

/** Reads one raw input (already resolved from the platform: input, then environment). Empty means not given. */
export type RawInputs = (name: string) => string | undefined;

export interface ParseDefaults {
  /** The repository of the running pipeline, used when `source` is not given. */
  source?: string;
}

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];
const BOOLEAN_ALLOWED = 'allowed: true or false (true, True, TRUE, false, False, FALSE)';

export function parseBoolean(name: string, value: string): boolean {
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new InputError(name, value, BOOLEAN_ALLOWED);
}

export function parseNonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InputError(name, value, 'allowed: a whole number of 0 or more (e.g. 24)');
  return Number(value);
}

function parsePositiveInteger(name: string, value: string): number {
  if (!/^[1-9]\d{0,9}$/.test(value))
    throw new InputError(name, value, 'allowed: a whole number of 1 or more (e.g. 42)');
  return Number(value);
}

export function parseNumberInRange(name: string, value: string, min: number, max: number, unit: string): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(value) ? Number(value) : NaN;
  if (!(n > min && n <= max)) {
    throw new InputError(
      name,
      value,
      `allowed: a number of ${unit} greater than ${min} and at most ${max} (decimals allowed)`,
    );
  }
  return n;
}

/** App names and ids: lower-case letters, digits and hyphens. Nothing that could change the request path. */
const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function validateAppName(name: string, value: string): string {
  if (!APP_NAME.test(value)) {
    throw new InputError(name, value, 'allowed: an app name of lower-case letters, digits and hyphens (e.g. my-app)');
  }
  return value;
}

/**
 * A loopback host name (local test servers), the one place that says which: `localhost`, `127.x.x.x`, `[::1]`.
 * Only there may a bearer travel in clear (http, ws) or a poll come faster than once a second.
 */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]';
}

export function parseServiceUrl(name: string, value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InputError(name, value, 'allowed: an https URL such as https://api.osc-fr1.scalingo.com');
  }
  const allowedScheme = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
  if (!allowedScheme || url.username || url.password || url.search || url.hash || !url.hostname) {
    throw new InputError(
      name,
      value,
      'allowed: an https URL with no credentials, query or fragment (http only on localhost)',
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}

/** Normalises a repository URL to `https://host/owner/repo`; rejects anything else. */
export function parseSource(name: string, value: string): string {
  const allowed = "allowed: the repository's http(s) web URL with no credentials, e.g. https://github.com/owner/repo";
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InputError(name, value, allowed);
  }
  if (!['https:', 'http:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new InputError(name, value, allowed);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  const segments = path.split('/').filter(Boolean);
  if (segments.length < 2 || segments.some((s) => s === '.' || s === '..')) {
    throw new InputError(name, value, allowed);
  }
  return `${url.protocol}//${url.host}/${segments.join('/')}`;
}

/** git's ref-name rules (git check-ref-format), enough that no branch can be mistaken for something else. */
export function validateBranch(name: string, value: string): string {
  const bad =
    value.length > 255 ||
    value.startsWith('-') ||
    value.startsWith('/') ||
    value.endsWith('/') ||
    value.endsWith('.') ||
    value.endsWith('.lock') ||
    value.includes('..') ||
    value.includes('//') ||
    value.includes('@{') ||
    value === '@' ||
    // eslint-disable-next-line no-control-regex
    /[\x00-\x20\x7f~^:?*[\\]/.test(value);
  if (bad)
    throw new InputError(name, value, 'allowed: a git branch name (no spaces, `..`, `~^:?*[\\`, nor a leading `-`)');
  return value;
}

/** Several apps in one input: separated by commas, spaces or newlines; each checked; a repeated one counted once. */
export function parseAppList(name: string, value: string): string[] {
  const apps: string[] = [];
  for (const part of value.split(/[\s,]+/)) {
    if (part === '') continue;
    const app = validateAppName(name, part);
    if (!apps.includes(app)) apps.push(app);
  }
  return apps;
}

/** The shortest poll interval against Scalingo, in seconds. */
export const MIN_POLL_SECONDS = 1;

const INTEGRATION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Turns raw inputs into the settings, or throws an InputError naming the input, the value and what is allowed.
 * Pure: no request is sent before this has succeeded.
 */
export function parseSettings(raw: RawInputs, defaults: ParseDefaults = {}): Settings {
  const get = (name: string): string | undefined => {
    const v = raw(name)?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  // The defaults are the input table's, the ones action.yml, the template and the README show: never restated here.
  const orDefault = (name: string): string | undefined => get(name) ?? inputSpec(name).default;
  const bool = (name: string): boolean => {
    const v = orDefault(name);
    return v === undefined ? false : parseBoolean(name, v);
  };
  const number = (name: string, max: number, unit: string): number =>
    parseNumberInRange(name, orDefault(name) ?? '', 0, max, unit);

  const command = orDefault('command') ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new InputError('command', command, `allowed: ${COMMANDS.join(', ')}`);
  }

  const apps = parseAppList('app', get('app') ?? '');
  const sourceRaw = get('source');
  const source =
    sourceRaw !== undefined
      ? parseSource('source', sourceRaw)
      : defaults.source
        ? parseSource('source', defaults.source)
        : undefined;
  // No app: the apps linked to the repository are found, unless there is no repository to look for, or the command
  // is one that must name its app (an unlink of every app found would be too easy a mistake).
  if (apps.length === 0 && (source === undefined || command === 'unlink')) {
    throw new InputError(
      'app',
      '',
      (n) => `required: the Scalingo app name (${lowerFirst(n.subject('app'))} or ${inputSpec('app').env})`,
    );
  }

  const region = orDefault('region') ?? '';
  if (!REGION.test(region))
    throw new InputError('region', region, 'allowed: a Scalingo region such as osc-fr1 or osc-secnum-fr1');

  const apiUrlRaw = get('api-url');
  const apiUrl = apiUrlRaw === undefined ? `https://api.${region}.scalingo.com` : parseServiceUrl('api-url', apiUrlRaw);
  const authUrl = parseServiceUrl('auth-url', orDefault('auth-url') ?? '');

  const scmIntegration = get('scm-integration');
  if (scmIntegration !== undefined && !INTEGRATION_ID.test(scmIntegration)) {
    throw new InputError(
      'scm-integration',
      scmIntegration,
      'allowed: the id (auth_integration_uuid) of one of your SCM integrations',
    );
  }

  const link: LinkSettings = {};
  for (const { input, field, kind } of LINK_FIELDS) {
    const v = get(input);
    if (v === undefined) continue;
    if (kind === 'boolean') (link as Record<string, unknown>)[field] = parseBoolean(input, v);
    else if (kind === 'integer') (link as Record<string, unknown>)[field] = parseNonNegativeInteger(input, v);
    else (link as Record<string, unknown>)[field] = validateBranch(input, v);
  }

  const deployBranchRaw = get('deploy-branch');
  const deployBranch = deployBranchRaw === undefined ? undefined : validateBranch('deploy-branch', deployBranchRaw);

  const prRaw = get('pull-request');
  const pullRequest = prRaw === undefined ? undefined : parsePositiveInteger('pull-request', prRaw);

  const reviewAppLabel = get('review-app-label');
  // eslint-disable-next-line no-control-regex
  if (reviewAppLabel !== undefined && (reviewAppLabel.length > 100 || /[,\x00-\x1f\x7f]/.test(reviewAppLabel))) {
    throw new InputError(
      'review-app-label',
      reviewAppLabel,
      'allowed: one label name of at most 100 characters, without commas (e.g. review-app)',
    );
  }

  const timeoutMinutes = number('timeout-minutes', 360, 'minutes');
  const pollSeconds = number('poll-interval-seconds', 600, 'seconds');
  // Scalingo allows 60 requests a minute: a poll under a second would spend it alone. Only a server on this machine
  // (a test server, as for plain http) may be polled faster.
  if (pollSeconds < MIN_POLL_SECONDS && !isLoopback(new URL(apiUrl).hostname)) {
    throw new InputError(
      'poll-interval-seconds',
      orDefault('poll-interval-seconds') ?? '',
      `allowed: a number of seconds from ${MIN_POLL_SECONDS} to 600 (decimals allowed): Scalingo allows 60 requests a minute`,
    );
  }
  const requestSeconds = number('request-timeout-seconds', 600, 'seconds');

  const settings: Settings = {
    apiToken: get('api-token') ?? '',
    apps,
    region,
    apiUrl,
    authUrl,
    command: command as Command,
    link,
    wait: bool('wait'),
    logs: bool('logs'),
    timeoutMs: Math.round(timeoutMinutes * 60_000),
    pollIntervalMs: Math.round(pollSeconds * 1000),
    requestTimeoutMs: Math.round(requestSeconds * 1000),
    reviewAppAutoDeploy: bool('review-app-auto-deploy'),
    reviewAppDrafts: bool('review-app-drafts'),
    failOnNewerCommit: bool('fail-on-newer-commit'),
    dryRun: bool('dry-run'),
    failWithoutToken: bool('fail-without-token'),
  };
  if (source !== undefined) settings.source = source;
  if (scmIntegration !== undefined) settings.scmIntegration = scmIntegration;
  if (pullRequest !== undefined) settings.pullRequest = pullRequest;
  if (deployBranch !== undefined) settings.deployBranch = deployBranch;
  if (reviewAppLabel !== undefined) settings.reviewAppLabel = reviewAppLabel;
  return settings;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** A copy safe to print: the token replaced by whether it is given. */
export function describeSettings(settings: Settings): Record<string, unknown> {
  const { apiToken, ...rest } = settings;
  return { ...rest, apiToken: apiToken ? '(given, masked)' : '(none)' };
}
