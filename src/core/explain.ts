/** Turns any error into the one line a user reads: what happened and what to do. */
import { BILLING_PAGE, INTEGRATIONS_PAGE, TOKENS_PAGE } from '../scalingo/dashboard.js';
import {
  BudgetDeadlineError,
  DEADLINE_REACHED,
  isTimeout,
  isUnresolved,
  NetworkError,
  notFound,
  ScalingoApiError,
  UnexpectedResponseError,
} from '../scalingo/errors.js';
import { CancelledError, InputError, UserError } from './errors.js';
import { inputSpec, WORKFLOW_NAMES, type InputNames } from './inputs.js';
import { LINK_FIELDS } from './settings.js';
import { formatDuration } from './log.js';

export interface ExplainContext {
  app: string;
  region: string;
  apiUrl: string;
  authUrl: string;
  source?: string;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function appInPath(path: string): string | undefined {
  const m = /^\/v1\/apps\/([^/?]+)/.exec(path);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/** The input that sets an API field, in the user's words; the field itself when no input does. */
function inputFor(field: string, n: InputNames): string {
  const input =
    LINK_FIELDS.find((l) => l.field === field)?.input ??
    (field === 'source' ? 'source' : field === 'auth_integration_uuid' ? 'scm-integration' : undefined);
  return input ? `\`${n.name(input)}\`` : field;
}

/** `names`: how the face that reports the error names its inputs. */
export function explain(err: unknown, ctx: ExplainContext, names: InputNames = WORKFLOW_NAMES): string {
  const q = (input: string): string => `\`${names.name(input)}\``;
  if (err instanceof InputError) return err.describe(names);
  if (err instanceof UserError) return err.message;
  if (err instanceof CancelledError) return `Cancelled (${err.message}).`;
  if (err instanceof BudgetDeadlineError) {
    const unsent = err.startedNothing ? 'none of its requests was sent' : `${err.what} was not sent`;
    return `Stopped by the deadline while waiting for the step's request budget (Scalingo allows 60 requests a minute, for all the step's apps together): ${unsent}, it would have waited ${formatDuration(err.waitMs)} more. Raise ${q('timeout-minutes')}, or deploy fewer apps in one step.`;
  }
  if (err instanceof ScalingoApiError) return explainApi(err, ctx, q, names);
  if (err instanceof NetworkError && err.code === DEADLINE_REACHED) {
    return `Scalingo did not answer ${err.method} ${err.path} before the deadline: retry later, or raise ${q('timeout-minutes')}.`;
  }
  if (isUnresolved(err)) {
    const e = err as NetworkError;
    const base =
      e.path.startsWith('/v1/tokens') || e.path.startsWith('/v1/scm_integrations') ? ctx.authUrl : ctx.apiUrl;
    const host = hostOf(base);
    return `Host ${host} does not resolve (${e.code}): check ${q('region')} (${ctx.region})${base === ctx.apiUrl ? ` or ${q('api-url')}` : ` or ${q('auth-url')}`}: the URL is ${base}.`;
  }
  if (isTimeout(err)) {
    const e = err as NetworkError;
    return `Scalingo did not answer ${e.method} ${e.path} within ${q('request-timeout-seconds')} (${e.code}), retries included: retry later, or raise ${q('request-timeout-seconds')}.`;
  }
  if (err instanceof NetworkError) {
    const base =
      err.path.startsWith('/v1/tokens') || err.path.startsWith('/v1/scm_integrations') ? ctx.authUrl : ctx.apiUrl;
    return `Could not reach Scalingo at ${base} (${err.code} on ${err.method} ${err.path}): check ${q('region')}/${q('api-url')}/${q('auth-url')} and the runner's network, then retry.`;
  }
  if (err instanceof UnexpectedResponseError) {
    return `${err.message}. Is ${q('api-url')} (${ctx.apiUrl}) Scalingo's API? If so, retry later.`;
  }
  if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED'))
    return 'Cancelled.';
  return `Unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

function explainApi(
  err: ScalingoApiError,
  ctx: ExplainContext,
  q: (input: string) => string,
  names: InputNames,
): string {
  const where = `${err.method} ${err.path}`;
  const app = appInPath(err.path) ?? ctx.app;
  const said = err.apiMessage ? ` (Scalingo said: ${err.apiMessage})` : '';
  if (err.path === '/v1/tokens/exchange') {
    if (err.status === 401 || err.status === 403) {
      return `Scalingo refused the API token (${err.status} on the token exchange): check ${tokenWhere(names)}; create a token at ${TOKENS_PAGE}.`;
    }
  }
  switch (err.status) {
    case 401:
      return `Scalingo refused the credentials on ${where} (401) even with a fresh bearer token: check that the token's user still has access to app ${app}${said}.`;
    case 402: {
      // Scalingo names the plan problem (`name`, e.g. free-trial-exceeded) and where to solve it (`url`).
      const name = err.details.name ? ` ${err.details.name}` : '';
      return `Scalingo asks for payment on ${where} (402${name})${said}: add a payment method or upgrade at ${err.details.url ?? BILLING_PAGE}.`;
    }
    case 403:
      if (err.method === 'POST' && err.path.endsWith('/scm_repo_link')) {
        return `The SCM integration's own token was refused by the repository host (403 on creating the link)${said}: reconnect the integration at ${INTEGRATIONS_PAGE}.`;
      }
      return `Access denied on ${where} (403)${said}: the token's user needs to be a collaborator of app ${app}.`;
    case 404:
      if (notFound(err) === 'app') {
        return `App "${app}" not found in region ${ctx.region} (404 on ${where}): check ${q('app')} and ${q('region')} (or ${q('api-url')}), and that the token's user is a collaborator of the app.`;
      }
      if (err.method === 'POST' && err.path.endsWith('/scm_repo_link')) {
        return `Scalingo cannot reach repository ${ctx.source ?? ''} (404 on creating the link)${said}: check ${q('source')} and that the SCM integration's account can read the repository.`;
      }
      // Not every 404 on a link action means "no link": read what the body says is missing first.
      if (
        /\/scm_repo_link\//.test(err.path) &&
        err.details.resource !== undefined &&
        err.details.resource !== 'scm_repo_link'
      ) {
        return `Scalingo found no ${err.details.resource.replace(/_/g, ' ')} for ${where} (404)${said}: the app's link is there; check that this ${err.details.resource.replace(/_/g, ' ')} exists.`;
      }
      // The link was read just before these: a 404 naming nothing is about what they were sent.
      if (/\/scm_repo_link\/manual_(deploy|review_app)$/.test(err.path) && err.details.resource === undefined) {
        const sent = err.path.endsWith('/manual_deploy') ? 'the branch sent' : 'the pull request number sent';
        return `Scalingo answered 404 to ${where}${said}, though the app's link is there: Scalingo does not know ${sent}; check that it exists in the linked repository.`;
      }
      if (/\/scm_repo_link\//.test(err.path)) {
        return `App "${app}" has no SCM link (404 on ${where})${said}: run with \`${names.setting('command', 'link')}\` (or \`auto\`) first, or link it in the dashboard.`;
      }
      return `Not found: ${where} (404)${said}.`;
    case 409:
    case 422: {
      const fields = err.details.fieldErrors;
      const detail = fields
        ? Object.entries(fields)
            .map(([f, msgs]) => `${inputFor(f, names)} ${msgs.join(', ')}`)
            .join('; ')
        : err.apiMessage;
      return `Scalingo refused ${where} (${err.status}): ${detail}. Fix the input(s) named and run again.`;
    }
    case 429:
      return `Scalingo's rate limit (60 requests per minute per user) was reached on ${where} and retries ran out: raise ${q('poll-interval-seconds')} or run fewer jobs at once with this token.`;
    default:
      if (err.status >= 500) {
        return `Scalingo's API failed on ${where} (${err.status})${said}: the platform has a problem; retry later and check https://scalingostatus.com.`;
      }
      return `Scalingo answered ${err.status} on ${where}${said}.`;
  }
}

/** Where the token comes from, as the face gives it: an input (or the secret behind it), or the variable alone. */
function tokenWhere(names: InputNames): string {
  const env = inputSpec('api-token').env;
  return names.name('api-token') === env
    ? `the ${env} variable`
    : `the \`${names.name('api-token')}\` input or the ${env} secret`;
}
