/** Typed calls to the Scalingo endpoints this product drives (see the API notes in the README). */
import { ScalingoApiError, UnexpectedResponseError } from '../core/errors.js';
import { Http, type HttpOptions, type HttpResponse, type RequestSpec } from './http.js';
import type { App, Deployment, ReviewApp, ScmIntegration, ScmRepoLink } from './types.js';
import type { LinkSettings } from '../core/settings.js';

export interface ClientOptions extends HttpOptions {
  apiToken: string;
  /** Called with every credential derived from the token, so the platform can mask it. */
  onSecret: (secret: string) => void;
}

/** Refresh the bearer this long before it expires, as the official Go client does. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Bearer tokens last one hour when the JWT does not say. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;

export type CreateLinkParams = LinkSettings & { source: string; auth_integration_uuid: string };

export class ScalingoClient {
  readonly http: Http;
  private bearer?: { token: string; refreshAt: number };
  private pending?: Promise<string>;
  private readonly basic: string;

  constructor(private readonly opts: ClientOptions) {
    this.http = new Http(opts);
    this.basic = `Basic ${Buffer.from(`:${opts.apiToken}`).toString('base64')}`;
    opts.onSecret(opts.apiToken);
    opts.onSecret(this.basic.slice('Basic '.length));
  }

  /** Exchanges the API token for a bearer token (POST /v1/tokens/exchange on the auth service). */
  async exchange(): Promise<string> {
    this.pending ??= (async () => {
      try {
        const res = await this.http.send({
          method: 'POST', service: 'auth', path: '/v1/tokens/exchange', body: {},
          headers: { authorization: this.basic }, idempotent: true, expect: [200, 201],
        });
        const token = (res.data as { token?: unknown } | undefined)?.token;
        if (typeof token !== 'string' || token === '') {
          throw new UnexpectedResponseError(res.status, 'POST', '/v1/tokens/exchange', 'a body without a token', res.text.slice(0, 40).replace(/"token"\s*:\s*"[^"]*"/, '"token":"***"'));
        }
        this.opts.onSecret(token);
        const now = Date.now();
        this.bearer = { token, refreshAt: bearerRefreshAt(jwtExpiry(token, now), now) };
        return token;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  private async token(): Promise<string> {
    if (this.bearer && Date.now() < this.bearer.refreshAt) return this.bearer.token;
    if (this.bearer) this.opts.debug('bearer token about to expire: exchanging the API token again');
    return this.exchange();
  }

  /** Sends an authenticated request; a 401 in the middle of a run gets one new bearer and one more try. */
  private async call(spec: Omit<RequestSpec, 'headers'>): Promise<HttpResponse> {
    const token = await this.token();
    try {
      return await this.http.send({ ...spec, headers: { authorization: `Bearer ${token}` } });
    } catch (err) {
      if (!(err instanceof ScalingoApiError) || err.status !== 401) throw err;
      this.opts.debug(`${spec.method} ${spec.path} -> 401: exchanging the API token again and retrying once`);
      this.bearer = undefined;
      const fresh = await this.exchange();
      return this.http.send({ ...spec, headers: { authorization: `Bearer ${fresh}` } });
    }
  }

  private appPath(app: string, rest = ''): string {
    return `/v1/apps/${encodeURIComponent(app)}${rest}`;
  }

  async getLink(app: string): Promise<ScmRepoLink | null> {
    try {
      const res = await this.call({ method: 'GET', service: 'api', path: this.appPath(app, '/scm_repo_link'), idempotent: true, expect: [200] });
      return unwrap<ScmRepoLink>(res, 'GET', this.appPath(app, '/scm_repo_link'), 'scm_repo_link');
    } catch (err) {
      // 404 means "no link" only when it is about the link; an unknown app is a real error.
      if (err instanceof ScalingoApiError && err.status === 404 && err.details.resource !== 'app') return null;
      throw err;
    }
  }

  async createLink(app: string, params: CreateLinkParams): Promise<ScmRepoLink> {
    const path = this.appPath(app, '/scm_repo_link');
    const res = await this.call({ method: 'POST', service: 'api', path, body: { scm_repo_link: params }, idempotent: false, expect: [201, 200] });
    return unwrap<ScmRepoLink>(res, 'POST', path, 'scm_repo_link');
  }

  async updateLink(app: string, params: LinkSettings): Promise<ScmRepoLink> {
    const path = this.appPath(app, '/scm_repo_link');
    const res = await this.call({ method: 'PATCH', service: 'api', path, body: { scm_repo_link: params }, idempotent: true, expect: [200] });
    return unwrap<ScmRepoLink>(res, 'PATCH', path, 'scm_repo_link');
  }

  async deleteLink(app: string): Promise<void> {
    await this.call({ method: 'DELETE', service: 'api', path: this.appPath(app, '/scm_repo_link'), idempotent: true, expect: [204, 200] });
  }

  async listIntegrations(): Promise<ScmIntegration[]> {
    const path = '/v1/scm_integrations';
    const res = await this.call({ method: 'GET', service: 'auth', path, idempotent: true, expect: [200] });
    return unwrapArray<ScmIntegration>(res, 'GET', path, 'scm_integrations');
  }

  async getApp(app: string): Promise<App> {
    const path = this.appPath(app);
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrap<App>(res, 'GET', path, 'app');
  }

  async manualDeploy(app: string, branch: string): Promise<Deployment> {
    const path = this.appPath(app, '/scm_repo_link/manual_deploy');
    const res = await this.call({ method: 'POST', service: 'api', path, body: { branch }, idempotent: false, expect: [200, 201] });
    return checkDeployment(res, 'POST', path, unwrap<Deployment>(res, 'POST', path, 'deployment'));
  }

  /** Creates the review app of a pull request. The answer's body is not documented: it may be empty. */
  async manualReviewApp(app: string, pullRequest: number): Promise<ReviewApp | undefined> {
    const path = this.appPath(app, '/scm_repo_link/manual_review_app');
    const res = await this.call({ method: 'POST', service: 'api', path, body: { pull_request_id: pullRequest }, idempotent: false, expect: [200, 201] });
    const ra = (res.data as { review_app?: unknown } | undefined)?.review_app;
    return ra && typeof ra === 'object' ? (ra as ReviewApp) : undefined;
  }

  async listReviewApps(app: string): Promise<ReviewApp[]> {
    const path = this.appPath(app, '/scm_repo_link/review_apps');
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrapArray<ReviewApp>(res, 'GET', path, 'review_apps');
  }

  async getDeployment(app: string, id: string): Promise<Deployment> {
    const path = this.appPath(app, `/deployments/${encodeURIComponent(id)}`);
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return checkDeployment(res, 'GET', path, unwrap<Deployment>(res, 'GET', path, 'deployment'));
  }

  /** The app's deployments, newest first. */
  async listDeployments(app: string, perPage: number): Promise<Deployment[]> {
    const path = this.appPath(app, `/deployments?page=1&per_page=${perPage}`);
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrapArray<Deployment>(res, 'GET', path, 'deployments');
  }

  /** The deployment's build output, or undefined when Scalingo has none (404). */
  async deploymentOutput(app: string, deployment: Deployment): Promise<string | undefined> {
    let path = this.appPath(app, `/deployments/${encodeURIComponent(deployment.id)}/output`);
    // Prefer the link the API gives, but only on the API's own host: the bearer goes nowhere else.
    const link = deployment.links?.output;
    if (link) {
      try {
        const url = new URL(link);
        if (url.origin === new URL(this.opts.apiUrl).origin) path = `${url.pathname}${url.search}`;
      } catch {
        // not a URL: use the documented path
      }
    }
    try {
      const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200], text: true });
      return res.text;
    } catch (err) {
      if (err instanceof ScalingoApiError && err.status === 404) return undefined;
      throw err;
    }
  }
}

function unwrap<T>(res: HttpResponse, method: string, path: string, key: string): T {
  const value = (res.data as Record<string, unknown> | undefined)?.[key];
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UnexpectedResponseError(res.status, method, path, `a body without "${key}"`, res.text.slice(0, 120));
  }
  return value as T;
}

function unwrapArray<T>(res: HttpResponse, method: string, path: string, key: string): T[] {
  const value = (res.data as Record<string, unknown> | undefined)?.[key];
  if (!Array.isArray(value)) {
    throw new UnexpectedResponseError(res.status, method, path, `a body without a "${key}" list`, res.text.slice(0, 120));
  }
  return value as T[];
}

function checkDeployment(res: HttpResponse, method: string, path: string, d: Deployment): Deployment {
  if (typeof d.id !== 'string' || d.id === '' || typeof d.status !== 'string' || d.status === '') {
    throw new UnexpectedResponseError(res.status, method, path, 'a deployment without id or status', res.text.slice(0, 120));
  }
  return d;
}

/**
 * When to exchange the token again: 5 minutes before the bearer expires; a bearer that short-lived is still used
 * for half its life, rather than exchanged again before every call.
 */
export function bearerRefreshAt(expiry: number, now: number): number {
  return Math.max(expiry - REFRESH_MARGIN_MS, now + (expiry - now) / 2);
}

/** Reads the `exp` claim of a JWT without verifying it (the server does that); one hour when absent. */
export function jwtExpiry(token: string, now: number): number {
  const payload = token.split('.')[1];
  if (payload) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) return claims.exp * 1000;
    } catch {
      // not a JWT we can read
    }
  }
  return now + DEFAULT_LIFETIME_MS;
}
