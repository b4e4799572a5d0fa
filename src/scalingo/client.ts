/** Typed calls to the Scalingo endpoints this product drives (see the API notes in the README). */
import { Auth } from './auth.js';
import { notFound, ScalingoApiError, UnexpectedResponseError } from './errors.js';
import { Http, type HttpOptions, type HttpResponse, type RequestSpec } from './http.js';
import type { Priority } from './limiter.js';
import type { App, Deployment, ReviewApp, ScmIntegration, ScmRepoLink, ScmRepoLinkSettings, User } from './types.js';

export interface ClientOptions extends HttpOptions {
  apiToken: string;
  /** Called with every credential derived from the token, so the platform can mask it. */
  onSecret: (secret: string) => void;
}

/** Links per page when listing links. */
export const LINKS_PER_PAGE = 50;
/**
 * A guard against a list that never ends (a `next_page` always ahead): 100,000 links, far above real accounts. Every
 * page the list says it has is read below it.
 */
export const MAX_LINK_PAGES = 2000;

export type CreateLinkParams = ScmRepoLinkSettings & { source: string; auth_integration_uuid: string };

export class ScalingoClient {
  readonly http: Http;
  private readonly auth: Auth;

  /** A client of one app among several: its bearer is the step's. */
  private readonly derived: boolean;

  constructor(
    private readonly opts: ClientOptions,
    shared?: { auth: Auth },
  ) {
    this.http = new Http(opts);
    this.derived = shared !== undefined;
    this.auth = shared?.auth ?? new Auth(this.http, opts.apiToken, opts.onSecret, opts.debug, opts.now);
  }

  /**
   * A client for one app of a step that deploys several: its own request count, log and deadline, the same bearer
   * (one token exchange for the step) and the same request budget (`limiter`, passed on with the options).
   */
  derive(opts: Partial<Pick<ClientOptions, 'debug' | 'deadline' | 'signal' | 'reservation'>>): ScalingoClient {
    return new ScalingoClient({ ...this.opts, ...opts }, { auth: this.auth });
  }

  /** The current bearer token, exchanged again when it is about to expire (the deployments stream authenticates with it). */
  bearer(): Promise<string> {
    return this.auth.token();
  }

  /** Exchanges the API token for a bearer token now (it is also done on the first call). */
  exchange(): Promise<string> {
    // One exchange for the whole step: an app's client takes the step's bearer while it is good.
    if (this.derived) return this.auth.token();
    return this.auth.exchange();
  }

  /** Sends an authenticated request; a 401 in the middle of a run gets one new bearer and one more try. */
  private async call(spec: Omit<RequestSpec, 'headers'>): Promise<HttpResponse> {
    const token = await this.auth.token();
    try {
      return await this.http.send({ ...spec, headers: { authorization: `Bearer ${token}` } });
    } catch (err) {
      if (!(err instanceof ScalingoApiError) || err.status !== 401) throw err;
      this.opts.debug(`${spec.method} ${spec.path} -> 401: exchanging the API token again and retrying once`);
      const fresh = await this.auth.renew();
      return this.http.send({ ...spec, headers: { authorization: `Bearer ${fresh}` } });
    }
  }

  private appPath(app: string, rest = ''): string {
    return `/v1/apps/${encodeURIComponent(app)}${rest}`;
  }

  /**
   * The app's link, or null when it has none. A 404 that names the link means "no link"; one about the app is an
   * unknown app; one that names nothing is settled here by looking at the app, so that no caller mistakes an
   * unknown app for an app without a link.
   */
  async getLink(app: string): Promise<ScmRepoLink | null> {
    const path = this.appPath(app, '/scm_repo_link');
    try {
      const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
      return unwrap<ScmRepoLink>(res, 'GET', path, 'scm_repo_link');
    } catch (err) {
      const missing = notFound(err);
      if (missing === undefined || missing === 'app') throw err;
      if (missing === 'unnamed') await this.getApp(app);
      return null;
    }
  }

  async createLink(app: string, params: CreateLinkParams): Promise<ScmRepoLink> {
    const path = this.appPath(app, '/scm_repo_link');
    const res = await this.call({
      method: 'POST',
      service: 'api',
      path,
      body: { scm_repo_link: params },
      idempotent: false,
      expect: [201, 200],
    });
    return unwrap<ScmRepoLink>(res, 'POST', path, 'scm_repo_link');
  }

  async updateLink(app: string, params: ScmRepoLinkSettings): Promise<ScmRepoLink> {
    const path = this.appPath(app, '/scm_repo_link');
    const res = await this.call({
      method: 'PATCH',
      service: 'api',
      path,
      body: { scm_repo_link: params },
      idempotent: true,
      expect: [200],
    });
    return unwrap<ScmRepoLink>(res, 'PATCH', path, 'scm_repo_link');
  }

  /** Deletes the link; one already gone (a 404 that is not about the app) counts as deleted. */
  async deleteLink(app: string): Promise<void> {
    try {
      await this.call({
        method: 'DELETE',
        service: 'api',
        path: this.appPath(app, '/scm_repo_link'),
        idempotent: true,
        expect: [204, 200],
      });
    } catch (err) {
      const missing = notFound(err);
      if (missing === undefined || missing === 'app') throw err;
    }
  }

  /**
   * Every SCM link of the token's user, page after page (`meta.pagination.next_page`), every page the list says it
   * has (`total_pages`, when given); `maxPages` guards against a list that never ends (then `truncated`). A page that
   * does not move forward ends the list. `onPage` hears each page read, with the total when the list gives it.
   */
  async listLinks(
    o: { perPage?: number; maxPages?: number; onPage?: (pages: number, totalPages: number | undefined) => void } = {},
  ): Promise<{ links: ScmRepoLink[]; pages: number; truncated: boolean }> {
    const perPage = o.perPage ?? LINKS_PER_PAGE;
    const maxPages = o.maxPages ?? MAX_LINK_PAGES;
    const links: ScmRepoLink[] = [];
    let totalPages: number | undefined;
    let page = 1;
    for (let pages = 1; ; pages++) {
      const path = `/v1/scm_repo_links?page=${page}&per_page=${perPage}`;
      const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
      const items = unwrapArray<ScmRepoLink>(res, 'GET', path, 'scm_repo_links');
      links.push(...items.filter((l) => l && typeof l === 'object'));
      const pagination = (res.data as { meta?: { pagination?: { next_page?: unknown; total_pages?: unknown } } }).meta
        ?.pagination;
      if (totalPages === undefined && typeof pagination?.total_pages === 'number') totalPages = pagination.total_pages;
      o.onPage?.(pages, totalPages);
      // More pages than allowed, by the list's own word: cut at once rather than read pages that would be cut anyway.
      if (totalPages !== undefined && totalPages > maxPages) return { links, pages, truncated: true };
      const next = pagination?.next_page;
      const last =
        typeof next !== 'number' ||
        !Number.isInteger(next) ||
        next <= page ||
        items.length === 0 ||
        (totalPages !== undefined && pages >= totalPages);
      if (last) return { links, pages, truncated: false };
      if (pages >= maxPages) {
        this.opts.debug(
          `GET /v1/scm_repo_links: stopped after ${pages} page(s), the guard against a list that never ends (total_pages ${totalPages ?? '?'})`,
        );
        return { links, pages, truncated: true };
      }
      page = next;
    }
  }

  async listIntegrations(): Promise<ScmIntegration[]> {
    const path = '/v1/scm_integrations';
    const res = await this.call({ method: 'GET', service: 'auth', path, idempotent: true, expect: [200] });
    return unwrapArray<ScmIntegration>(res, 'GET', path, 'scm_integrations');
  }

  /** The token's user (`GET /v1/users/self` on the auth service). */
  async getSelf(): Promise<User> {
    const path = '/v1/users/self';
    const res = await this.call({ method: 'GET', service: 'auth', path, idempotent: true, expect: [200] });
    return unwrap<User>(res, 'GET', path, 'user');
  }

  async getApp(app: string): Promise<App> {
    const path = this.appPath(app);
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrap<App>(res, 'GET', path, 'app');
  }

  async manualDeploy(app: string, branch: string): Promise<Deployment> {
    const path = this.appPath(app, '/scm_repo_link/manual_deploy');
    const res = await this.call({
      method: 'POST',
      service: 'api',
      path,
      body: { branch },
      idempotent: false,
      expect: [200, 201],
    });
    return checkDeployment(res, 'POST', path, unwrap<Deployment>(res, 'POST', path, 'deployment'));
  }

  /** Creates the review app of a pull request. The answer's body is not documented: it may be empty. */
  async manualReviewApp(app: string, pullRequest: number): Promise<ReviewApp | undefined> {
    const path = this.appPath(app, '/scm_repo_link/manual_review_app');
    const res = await this.call({
      method: 'POST',
      service: 'api',
      path,
      body: { pull_request_id: pullRequest },
      idempotent: false,
      expect: [200, 201],
    });
    const ra = (res.data as { review_app?: unknown } | undefined)?.review_app;
    return ra && typeof ra === 'object' ? (ra as ReviewApp) : undefined;
  }

  async listReviewApps(app: string): Promise<ReviewApp[]> {
    const path = this.appPath(app, '/scm_repo_link/review_apps');
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrapArray<ReviewApp>(res, 'GET', path, 'review_apps');
  }

  /** `priority: 'later'` for a read that can wait for others (a safety read while the stream is live). */
  async getDeployment(app: string, id: string, priority?: Priority): Promise<Deployment> {
    const path = this.appPath(app, `/deployments/${encodeURIComponent(id)}`);
    const res = await this.call({
      method: 'GET',
      service: 'api',
      path,
      idempotent: true,
      expect: [200],
      ...(priority ? { priority } : {}),
    });
    return checkDeployment(res, 'GET', path, unwrap<Deployment>(res, 'GET', path, 'deployment'));
  }

  /** The app's deployments, newest first. */
  async listDeployments(app: string, perPage: number): Promise<Deployment[]> {
    const path = this.appPath(app, `/deployments?page=1&per_page=${perPage}`);
    const res = await this.call({ method: 'GET', service: 'api', path, idempotent: true, expect: [200] });
    return unwrapArray<Deployment>(res, 'GET', path, 'deployments');
  }

  /** The deployment's build output, or undefined when Scalingo has none (404). */
  async deploymentOutput(app: string, deployment: Deployment, priority?: Priority): Promise<string | undefined> {
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
      const res = await this.call({
        method: 'GET',
        service: 'api',
        path,
        idempotent: true,
        expect: [200],
        text: true,
        ...(priority ? { priority } : {}),
      });
      return res.text;
    } catch (err) {
      if (notFound(err) !== undefined) return undefined;
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
    throw new UnexpectedResponseError(
      res.status,
      method,
      path,
      `a body without a "${key}" list`,
      res.text.slice(0, 120),
    );
  }
  return value as T[];
}

function checkDeployment(res: HttpResponse, method: string, path: string, d: Deployment): Deployment {
  if (typeof d.id !== 'string' || d.id === '' || typeof d.status !== 'string' || d.status === '') {
    throw new UnexpectedResponseError(
      res.status,
      method,
      path,
      'a deployment without id or status',
      res.text.slice(0, 120),
    );
  }
  return d;
}
