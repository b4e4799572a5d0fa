/**
 * The product's one job, the same on every platform: reconcile the link, trigger the deploy or the review app,
 * follow it to the end. Platforms give it settings, a CI context, a logger and hooks; it returns a report.
 */
import type { Dispatcher } from 'undici';
import { ScalingoClient } from '../scalingo/client.js';
import { KNOWN_TERMINAL_STATUSES, type App, type Deployment, type ReviewApp, type ScmIntegration, type ScmRepoLink } from '../scalingo/types.js';
import { describeEvent, type CiContext, type PullRequestInfo } from './event.js';
import { CancelledError, NetworkError, ScalingoApiError, UnexpectedResponseError, UserError } from './errors.js';
import { explain } from './explain.js';
import { follow as followDeployment, sleep as defaultSleep, type FollowOutcome, type FollowResult } from './follow.js';
import { formatDuration, redacting, Secrets, type Logger } from './log.js';
import { decideAction, linkSource, newLinkBranch, planLink, sameRepository, type Action, type FieldChange, type LinkPlan } from './plan.js';
import type { OutputName } from './inputs.js';
import type { Settings } from './settings.js';

export type LinkResult = 'created' | 'updated' | 'unchanged' | 'deleted' | 'would-create' | 'would-update' | 'would-delete';

export type Outcome = 'success' | 'failed' | 'timed-out' | 'cancelled' | 'skipped' | 'nothing-to-deploy' | 'dry-run' | 'error';

export interface DeploymentInfo {
  app: string;
  id: string;
  status: string;
  /** Epoch ms when the run triggered or found it. */
  startedAt: number;
  endedAt?: number;
  /** The end of the build output, when the deployment failed. */
  outputTail?: string;
}

export interface RunReport {
  ok: boolean;
  outcome: Outcome;
  /** One line: why the run failed, skipped or deployed nothing. */
  message: string;
  settingsApp: string;
  region: string;
  source?: string;
  event: string;
  action?: Action;
  link?: { result: LinkResult; changes: FieldChange[]; branch?: string; autoDeploy?: boolean };
  /** The app deployed: the parent app, or the review app. */
  app?: string;
  appUrl?: string;
  reviewApp?: string;
  pullRequest?: PullRequestInfo;
  branch?: string;
  sha?: string;
  deployment?: DeploymentInfo;
  dashboardUrl?: string;
  timedOut: boolean;
  /** What happens next, for a closed pull request. */
  notes: string[];
  warnings: string[];
  /** API requests sent. */
  requests: number;
  durationMs: number;
}

export interface DeploymentEvent {
  /** The app deployed: the parent app, or the review app. */
  app: string;
  parentApp: string;
  deploymentId: string;
  /** Its status when triggered. */
  status: string;
  reviewApp?: string;
  pullRequest?: PullRequestInfo;
  appUrl?: string;
  dashboardUrl: string;
}

/** Platform features the core calls when they exist; their failures are the platform's to report. */
export interface RunHooks {
  deploymentStarted?(event: DeploymentEvent): Promise<void>;
}

export interface RunDeps {
  log: Logger;
  userAgent: string;
  /** Told every credential so the platform can mask it too. */
  onSecret?: (secret: string) => void;
  hooks?: RunHooks;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DASHBOARD = 'https://dashboard.scalingo.com';
/** Lines of build output shown when a deployment fails. */
const OUTPUT_TAIL_LINES = 40;

export function dashboardUrl(region: string, app: string, deploymentId?: string): string {
  const base = `${DASHBOARD}/apps/${encodeURIComponent(region)}/${encodeURIComponent(app)}`;
  return deploymentId ? `${base}/deploy/${encodeURIComponent(deploymentId)}` : base;
}

/** The outputs of a report, by name; every output is set (empty when unknown). */
export function reportOutputs(report: RunReport): Record<OutputName, string> {
  return {
    app: report.app ?? '',
    'app-url': report.appUrl ?? '',
    'deployment-id': report.deployment?.id ?? '',
    'deployment-status': report.deployment?.status ?? '',
    'review-app': report.reviewApp ?? '',
    link: report.link?.result ?? '',
    'timed-out': String(report.timedOut),
    'dashboard-url': report.dashboardUrl ?? '',
  };
}

export async function run(settings: Settings, ctx: CiContext, deps: RunDeps): Promise<RunReport> {
  const secrets = new Secrets();
  const onSecret = (s: string): void => {
    secrets.add(s);
    deps.onSecret?.(s);
  };
  onSecret(settings.apiToken);
  const log = redacting(deps.log, secrets);
  const job = new Job(settings, ctx, { ...deps, log, onSecret });
  try {
    await job.execute();
  } catch (err) {
    job.fail(err);
  }
  const report = job.report;
  report.message = secrets.redact(report.message);
  report.warnings = report.warnings.map((w) => secrets.redact(w));
  report.notes = report.notes.map((n) => secrets.redact(n));
  report.requests = job.requests();
  report.durationMs = job.elapsed();
  return report;
}

class Job {
  readonly report: RunReport;
  private client?: ScalingoClient;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly start: number;
  private readonly deadline: number;
  private readonly log: Logger;
  /** The last request sent that changes something (the link, a deploy, a review app), for a cancelled run's report. */
  private lastWrite?: string;

  constructor(
    private readonly settings: Settings,
    private readonly ctx: CiContext,
    private readonly deps: RunDeps & { onSecret: (s: string) => void },
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? defaultSleep;
    this.start = this.now();
    this.deadline = this.start + settings.timeoutMs;
    this.log = deps.log;
    this.report = {
      ok: false,
      outcome: 'error',
      message: '',
      settingsApp: settings.app,
      region: settings.region,
      event: describeEvent(ctx),
      timedOut: false,
      notes: [],
      warnings: [],
      requests: 0,
      durationMs: 0,
    };
    if (settings.source) this.report.source = settings.source;
    if (ctx.sha) this.report.sha = ctx.sha;
  }

  requests(): number {
    return this.client?.http.count ?? 0;
  }

  elapsed(): number {
    return this.now() - this.start;
  }

  fail(err: unknown): void {
    this.report.ok = false;
    if (err instanceof CancelledError || this.deps.signal?.aborted) {
      this.report.outcome = 'cancelled';
      const where = dashboardUrl(this.settings.region, this.report.app ?? this.settings.app);
      this.report.message = !this.lastWrite
        ? 'Cancelled before anything was changed or started on Scalingo.'
        : this.lastWrite.startsWith('link ')
          ? `Cancelled after the ${this.lastWrite} was requested, before anything was deployed: it may have taken effect, check the link of the app in ${where}.`
          : `Cancelled after the ${this.lastWrite} was requested, before a deployment was followed: see ${where} for what runs.`;
    } else if (this.report.outcome === 'timed-out' || this.now() >= this.deadline) {
      // The deadline, not the error, is what stopped the run.
      this.report.outcome = 'timed-out';
      this.report.timedOut = true;
      const message = explain(err, this.settings);
      this.report.message = err instanceof UserError ? message : `Stopped at the deadline (${formatDuration(this.settings.timeoutMs)}, timeout-minutes): ${message}`;
    } else {
      this.report.outcome = 'error';
      this.report.message = explain(err, this.settings);
    }
    this.log.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** "pull request #2" on GitHub, "merge request !2" on GitLab. */
  private prName(number?: number): string {
    const gitlab = this.ctx.platform === 'gitlab';
    const name = gitlab ? 'merge request' : 'pull request';
    return number === undefined ? name : `${name} ${gitlab ? '!' : '#'}${number}`;
  }

  private warn(message: string, title?: string): void {
    this.report.warnings.push(message);
    this.log.warning(message, title);
  }

  private api(): ScalingoClient {
    if (!this.client) {
      const s = this.settings;
      this.client = new ScalingoClient({
        apiUrl: s.apiUrl,
        authUrl: s.authUrl,
        apiToken: s.apiToken,
        requestTimeoutMs: s.requestTimeoutMs,
        deadline: this.deadline,
        userAgent: this.deps.userAgent,
        debug: (m) => this.log.debug(m),
        onSecret: this.deps.onSecret,
        ...(this.deps.dispatcher ? { dispatcher: this.deps.dispatcher } : {}),
        ...(this.deps.signal ? { signal: this.deps.signal } : {}),
      });
    }
    return this.client;
  }

  async execute(): Promise<void> {
    const s = this.settings;
    if (!s.apiToken) {
      this.missingToken();
      return;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\s\x00-\x1f\x7f]/.test(s.apiToken)) {
      throw new UserError(`Input \`api-token\` is malformed (${s.apiToken.length} characters, with spaces or control characters): paste the token alone, e.g. tk-us-...`);
    }
    this.log.info(`Scalingo app ${s.app} (${s.region}), ${this.report.event}${s.dryRun ? ', dry run: nothing will be changed' : ''}`);

    const client = this.api();
    const prefetch = this.prefetchFor();
    const { link, app, reviewApps } = await this.log.group(`Link ${s.app} to ${s.source ?? 'its repository'}`, async () => {
      await client.exchange();
      const [link, app, reviewApps] = await allOf(
        s.command === 'unlink' ? client.getLink(s.app) : this.reconcileLink(),
        prefetch.app ? client.getApp(s.app) : Promise.resolve(undefined),
        prefetch.reviewApps ? client.listReviewApps(s.app) : Promise.resolve(undefined),
      );
      return { link, app, reviewApps };
    });

    const followed = s.link.branch ?? link?.branch;
    const action = decideAction(s, this.ctx, followed);
    this.report.action = action;

    switch (action.kind) {
      case 'none':
        this.log.info(action.reason);
        this.finish(true, 'nothing-to-deploy', action.reason);
        return;
      case 'unlink':
        await this.unlink(link);
        return;
      case 'review-app-closed':
        await this.closed(action.pr, link, reviewApps ?? (await client.listReviewApps(s.app)));
        return;
      case 'deploy':
        await this.deploy(action.branch, link, app ?? (await client.getApp(s.app)));
        return;
      case 'review-app':
        await this.reviewApp(action.pr, link, reviewApps ?? (await client.listReviewApps(s.app)));
        return;
    }
  }

  /** Reads that the action will need, made alongside the link read. */
  private prefetchFor(): { app: boolean; reviewApps: boolean } {
    const e = this.ctx.event;
    const c = this.settings.command;
    const deploying = c === 'deploy' || (c === 'auto' && (e.kind === 'push' || e.kind === 'manual'));
    const reviewing = c === 'review-app' || (c === 'auto' && e.kind === 'pull-request');
    return { app: deploying, reviewApps: reviewing };
  }

  private missingToken(): void {
    const e = this.ctx.event;
    const fromFork = e.kind === 'pull-request' && e.pr.fork;
    if (fromFork && !this.settings.failWithoutToken) {
      const msg = `No Scalingo API token: ${this.prName(e.pr.number)} comes from a fork, and ${this.ctx.platform === 'gitlab' ? 'GitLab' : 'GitHub'} gives no secrets to pipelines of forks. Skipped (set \`fail-without-token: true\` to fail instead).`;
      this.warn(msg, 'Scalingo deploy skipped');
      this.finish(true, 'skipped', msg);
      return;
    }
    throw new UserError(
      this.ctx.platform === 'github'
        ? 'No Scalingo API token: set `api-token: ${{ secrets.SCALINGO_API_TOKEN }}` on the step (or the SCALINGO_API_TOKEN environment variable), after adding the secret in the repository settings.'
        : 'No Scalingo API token: set the SCALINGO_API_TOKEN environment variable (GitLab: a masked CI/CD variable).',
    );
  }

  // ---- link ----------------------------------------------------------------------------------------------------

  private async reconcileLink(): Promise<ScmRepoLink | null> {
    const client = this.api();
    const current = await client.getLink(this.settings.app);
    try {
      return await this.applyLinkPlan(current);
    } catch (err) {
      // Someone changed the link between our read and our write: read again and plan once more.
      if (err instanceof ScalingoApiError && [404, 409, 422].includes(err.status) && err.details.resource !== 'app' && this.isLinkWrite(err)) {
        const again = await client.getLink(this.settings.app);
        if (linkState(again) !== linkState(current)) {
          this.log.info('The link changed while this run was updating it: read it again and planning once more.');
          return this.applyLinkPlan(again);
        }
      }
      throw err;
    }
  }

  private isLinkWrite(err: ScalingoApiError): boolean {
    return err.path.endsWith('/scm_repo_link') && (err.method === 'POST' || err.method === 'PATCH');
  }

  private async applyLinkPlan(current: ScmRepoLink | null): Promise<ScmRepoLink | null> {
    const s = this.settings;
    const plan = planLink(current, s, newLinkBranch(this.ctx.event));
    this.logLinkPlan(plan, current);
    const client = this.api();
    switch (plan.kind) {
      case 'conflict':
        throw new UserError(`App ${s.app} is linked to ${plan.linkedTo}, not to ${s.source}: this step never re-links an app. Unlink it first (\`command: unlink\` or the dashboard), or set \`source\` to ${plan.linkedTo}.`);
      case 'unchanged':
        this.report.link = { result: 'unchanged', changes: [] };
        return this.noteLink(current);
      case 'update': {
        if (s.dryRun) {
          this.report.link = { result: 'would-update', changes: plan.changes };
          return this.noteLink({ ...current, ...plan.settings });
        }
        this.lastWrite = 'link update';
        const updated = await client.updateLink(s.app, plan.settings);
        this.report.link = { result: 'updated', changes: plan.changes };
        return this.noteLink(updated);
      }
      case 'create': {
        if (!s.source) throw new UserError('The app has no SCM link and the repository is unknown: set `source` (e.g. https://github.com/owner/repo).');
        const integration = await this.findIntegration(s.source);
        if (s.dryRun) {
          this.report.link = { result: 'would-create', changes: plan.changes };
          return this.noteLink({ ...plan.settings, auth_integration_uuid: integration });
        }
        const params = { source: s.source, auth_integration_uuid: integration, ...plan.settings };
        const created = await this.once(
          'link creation',
          () => client.createLink(s.app, params).catch(async (err: unknown) => {
            // A 404 that does not say what is missing: the app itself, or the repository?
            // Only an unknown app replaces the 404: any other failure of that look leaves the 404 as it was.
            if (err instanceof ScalingoApiError && err.status === 404 && !err.details.resource) {
              await client.getApp(s.app).catch((lookErr: unknown) => {
                if (isUnknownApp(lookErr)) throw lookErr;
              });
            }
            throw err;
          }),
          async () => {
            const link = await client.getLink(s.app);
            return link && s.source && sameRepository(linkSource(link) ?? s.source, s.source) ? link : undefined;
          },
        );
        this.report.link = { result: 'created', changes: plan.changes };
        return this.noteLink(created);
      }
    }
  }

  private noteLink(link: ScmRepoLink | null): ScmRepoLink | null {
    if (link && this.report.link) {
      if (link.branch !== undefined) this.report.link.branch = link.branch;
      if (link.auto_deploy_enabled !== undefined) this.report.link.autoDeploy = link.auto_deploy_enabled;
    }
    return link;
  }

  private logLinkPlan(plan: LinkPlan, current: ScmRepoLink | null): void {
    const verb = this.settings.dryRun ? 'would ' : '';
    switch (plan.kind) {
      case 'create':
        this.log.info(`No SCM link yet: ${verb || 'will '}create it for ${this.settings.source ?? '(unknown repository)'}`);
        for (const c of plan.changes) this.log.info(`  ${c.field}: ${show(c.to)}`);
        break;
      case 'update':
        this.log.info(`Link to ${linkSource(current) ?? 'the repository'}: ${verb}change ${plan.changes.length} setting(s)`);
        for (const c of plan.changes) this.log.info(`  ${c.field}: ${show(c.from)} -> ${show(c.to)}`);
        break;
      case 'unchanged':
        this.log.info(`Link to ${linkSource(current) ?? 'the repository'} (branch ${current?.branch ?? '?'}): already as given, nothing to change`);
        break;
      case 'conflict':
        break;
    }
  }

  private async findIntegration(source: string): Promise<string> {
    if (this.settings.scmIntegration) return this.settings.scmIntegration;
    const integrations = await this.api().listIntegrations();
    const origin = new URL(source).origin.toLowerCase();
    const server = this.ctx.serverUrl?.replace(/\/+$/, '').toLowerCase();
    const roots = new Set([origin, ...(server && source.toLowerCase().startsWith(`${server}/`) ? [server] : [])]);
    const matches = integrations.filter((i) => i.url && roots.has(i.url.replace(/\/+$/, '').toLowerCase()));
    if (matches.length === 1 && matches[0]) {
      this.log.info(`SCM integration: ${describeIntegration(matches[0])}`);
      return matches[0].id;
    }
    const found = integrations.length ? integrations.map(describeIntegration).join(', ') : 'none';
    if (matches.length === 0) {
      throw new UserError(`No SCM integration of the token's user matches ${origin} (found: ${found}): connect one at ${DASHBOARD}/account/integrations, or set \`scm-integration\`.`);
    }
    throw new UserError(`${matches.length} SCM integrations match ${origin} (${matches.map(describeIntegration).join(', ')}): set \`scm-integration\` to the id to use.`);
  }

  private async unlink(link: ScmRepoLink | null): Promise<void> {
    const s = this.settings;
    await this.log.group(`Unlink ${s.app}`, async () => {
      if (!link) {
        // A 404 that does not name what is missing reads as "no link": make sure the app itself exists.
        await this.api().getApp(s.app);
        this.report.link = { result: 'unchanged', changes: [] };
        this.log.info(`App ${s.app} has no SCM link: nothing to delete`);
        return;
      }
      if (s.dryRun) {
        this.report.link = { result: 'would-delete', changes: [] };
        this.log.info(`Would delete the link of ${s.app} to ${linkSource(link) ?? 'its repository'}`);
        return;
      }
      this.lastWrite = 'link deletion';
      try {
        await this.api().deleteLink(s.app);
      } catch (err) {
        if (!(err instanceof ScalingoApiError && err.status === 404 && err.details.resource !== 'app')) throw err;
      }
      this.report.link = { result: 'deleted', changes: [] };
      this.log.info(`Deleted the link of ${s.app} to ${linkSource(link) ?? 'its repository'}`);
    });
    this.finish(true, s.dryRun ? 'dry-run' : 'nothing-to-deploy', s.dryRun ? 'dry run: the link would be deleted' : `link of ${s.app} deleted`);
  }

  // ---- actions -------------------------------------------------------------------------------------------------

  private async deploy(branch: string, link: ScmRepoLink | null, app: App): Promise<void> {
    const s = this.settings;
    this.report.app = s.app;
    this.report.branch = branch;
    if (app.url || app.base_url) this.report.appUrl = app.url || app.base_url;
    this.report.dashboardUrl = dashboardUrl(s.region, s.app);
    // Scalingo's auto-deploy reacts to pushes only: a manual or scheduled run is deployed once.
    if (link?.auto_deploy_enabled && link.branch === branch && this.ctx.event.kind === 'push') {
      this.warn(`The link's auto-deploy is on for ${branch}: Scalingo deploys this push by itself too, so it is deployed twice. Set \`auto-deploy: false\` to let this step deploy alone.`, 'Double deploy');
    }
    if (s.dryRun) {
      this.log.info(`Would deploy branch ${branch} of ${s.app}${s.wait ? ' and follow it' : ''}`);
      this.finish(true, 'dry-run', `dry run: would deploy branch ${branch} of ${s.app}`);
      return;
    }
    const deployment = await this.log.group(`Deploy branch ${branch} of ${s.app}`, () => this.trigger(s.app, branch, app.last_deployment_id ?? undefined));
    await this.followAndReport(s.app, deployment, undefined);
  }

  /** manual_deploy, never twice: after an ambiguous failure, look for the deployment it may have started. */
  private async trigger(app: string, branch: string, previousId: string | undefined): Promise<Deployment> {
    const client = this.api();
    const since = this.now();
    const deployment = await this.once(
      `deploy of branch ${branch} of ${app}`,
      () => client.manualDeploy(app, branch),
      async () => {
        return newDeployment(await client.listDeployments(app, 10), previousId, since);
      },
    );
    this.log.info(`Deployment ${deployment.id} started (${deployment.status})`);
    return deployment;
  }

  private async reviewApp(pr: PullRequestInfo, link: ScmRepoLink | null, reviewApps: ReviewApp[]): Promise<void> {
    const s = this.settings;
    const client = this.api();
    this.report.pullRequest = pr;
    if (link?.deploy_review_apps_enabled) {
      this.warn(`The link's automatic review apps are on: Scalingo creates and deploys review apps for ${this.prName()}s by itself too, so they are deployed twice. Set \`review-apps: false\` to let this step manage them alone.`, 'Double deploy');
    }
    if (pr.fork) {
      this.log.info(`${capital(this.prName(pr.number))} comes from a fork: its code will run on Scalingo in the review app.`);
    }
    const existing = findReviewApp(reviewApps, pr.number);
    const headBranch = pr.headBranch ?? branchName(existing?.pull_request?.branch_name);
    if (headBranch) this.report.branch = headBranch;

    if (s.dryRun) {
      const what = existing?.app_name ? `redeploy review app ${existing.app_name} (branch ${headBranch ?? '?'})` : `create the review app of ${this.prName(pr.number)}`;
      if (existing?.app_name) this.report.reviewApp = existing.app_name;
      this.log.info(`Would ${what}`);
      this.finish(true, 'dry-run', `dry run: would ${what}`);
      return;
    }

    const { name, deployment } = await this.log.group(`Review app of ${this.prName(pr.number)}`, async () => {
      if (existing?.app_name) {
        if (!headBranch) throw new UserError(`Review app ${existing.app_name} exists but the ${this.prName()}'s branch is unknown: run on a ${this.prName()} event.`);
        this.log.info(`Review app ${existing.app_name} exists: redeploying branch ${headBranch}`);
        this.report.reviewApp = existing.app_name;
        this.report.app = existing.app_name;
        this.report.dashboardUrl = dashboardUrl(s.region, existing.app_name);
        // The list names the deployment by its platform id (upstream_deployment_id) and an id of its own.
        const previous = existing.last_deployment?.upstream_deployment_id ?? existing.last_deployment?.id;
        const deployment = await this.trigger(existing.app_name, headBranch, previous);
        return { name: existing.app_name, deployment };
      }
      this.log.info(`Creating the review app of ${this.prName(pr.number)}`);
      let created: ReviewApp | undefined;
      try {
        created = await this.once(
          `review app of ${this.prName(pr.number)}`,
          async () => (await client.manualReviewApp(s.app, pr.number)) ?? {},
          async () => findReviewApp(await client.listReviewApps(s.app), pr.number),
        );
      } catch (err) {
        // Scalingo may have created it meanwhile (its own automatic review apps): use that one.
        if (!(err instanceof ScalingoApiError && err.status === 422)) throw err;
        created = findReviewApp(await client.listReviewApps(s.app), pr.number);
        if (!created) throw err;
        this.log.info(`Scalingo already has a review app for #${pr.number}: following it`);
      }
      const name = created.app_name ?? findReviewApp(await client.listReviewApps(s.app), pr.number)?.app_name ?? `${s.app}-pr${pr.number}`;
      this.log.info(`Review app ${name} created`);
      // Known from here on, even if no deployment shows up before the deadline or the run is cancelled.
      this.report.reviewApp = name;
      this.report.app = name;
      this.report.dashboardUrl = dashboardUrl(s.region, name);
      const deployment = await this.firstDeployment(name);
      this.log.info(`Deployment ${deployment.id} started (${deployment.status})`);
      return { name, deployment };
    });
    this.report.reviewApp = name;
    await this.followAndReport(name, deployment, pr);
  }

  /** A new review app deploys on its own once provisioned: wait for that deployment to appear. */
  private async firstDeployment(app: string): Promise<Deployment> {
    for (;;) {
      try {
        const [newest] = await this.api().listDeployments(app, 1);
        if (newest) return newest;
      } catch (err) {
        // The review app may not be visible yet right after its creation.
        if (!(err instanceof ScalingoApiError && err.status === 404)) throw err;
      }
      if (this.now() + this.settings.pollIntervalMs > this.deadline) {
        this.report.timedOut = true;
        this.report.outcome = 'timed-out';
        throw new UserError(`Review app ${app} was created but no deployment started before the deadline (${formatDuration(this.settings.timeoutMs)}): see ${dashboardUrl(this.settings.region, app)}.`);
      }
      if (this.deps.signal?.aborted) throw new CancelledError('a signal');
      await this.sleep(this.settings.pollIntervalMs, this.deps.signal);
    }
  }

  private async closed(pr: PullRequestInfo, link: ScmRepoLink | null, reviewApps: ReviewApp[]): Promise<void> {
    const s = this.settings;
    this.report.pullRequest = pr;
    const existing = findReviewApp(reviewApps, pr.number);
    let note: string;
    if (!existing) {
      note = `${capital(this.prName(pr.number))} is closed and has no review app on ${s.app}: nothing to do.`;
    } else {
      const name = existing.app_name ?? `${s.app}-pr${pr.number}`;
      this.report.reviewApp = name;
      if (link?.delete_on_close_enabled) {
        const hours = link.hours_before_delete_on_close ?? 0;
        note = `${capital(this.prName(pr.number))} is closed: Scalingo deletes review app ${name} ${hours > 0 ? `in ${hours} hour(s)` : 'now'} (delete-on-close is on).`;
      } else if (link?.delete_stale_enabled) {
        note = `${capital(this.prName(pr.number))} is closed: review app ${name} stays until Scalingo deletes it as stale, ${link.hours_before_delete_stale ?? 0} hour(s) after its last deploy (set \`delete-on-close: true\` to delete it on close).`;
      } else {
        note = `${capital(this.prName(pr.number))} is closed: review app ${name} stays, since delete-on-close and delete-stale are off. Delete it in the dashboard, or set \`delete-on-close: true\`.`;
      }
    }
    this.report.notes.push(note);
    this.log.info(note);
    this.finish(true, 'nothing-to-deploy', note);
  }

  // ---- follow --------------------------------------------------------------------------------------------------

  private async followAndReport(app: string, initial: Deployment, pr: PullRequestInfo | undefined): Promise<void> {
    const s = this.settings;
    const client = this.api();
    this.report.app = app;
    this.report.dashboardUrl = dashboardUrl(s.region, app, initial.id);
    const info: DeploymentInfo = { app, id: initial.id, status: initial.status, startedAt: this.now() };
    this.report.deployment = info;

    // The review app's URL is read while the deployment runs.
    const urlRead = this.report.appUrl && app === s.app
      ? Promise.resolve()
      : client.getApp(app).then((a) => { if (a.url || a.base_url) this.report.appUrl = a.url || a.base_url; }, (err: unknown) => this.log.debug(`app URL not read: ${String(err)}`));

    // The platform is told (PR comment, deployment status) while the deployment is followed, not before.
    const hook = this.deps.hooks?.deploymentStarted;
    const dashboard = this.report.dashboardUrl;
    const announced = hook
      ? urlRead.then(() => {
        const event: DeploymentEvent = { app, parentApp: s.app, deploymentId: initial.id, status: initial.status, dashboardUrl: dashboard };
        if (pr) event.pullRequest = pr;
        if (app !== s.app) event.reviewApp = app;
        if (this.report.appUrl) event.appUrl = this.report.appUrl;
        return hook(event);
      }).catch((err: unknown) => this.log.debug(`deployment hook failed: ${String(err)}`))
      : urlRead;

    if (!s.wait) {
      await announced;
      this.log.info(`Not following (wait: false): deployment ${initial.id} is ${initial.status}; see ${this.report.dashboardUrl}`);
      this.finish(true, 'success', `deployment ${initial.id} triggered (not followed)`);
      return;
    }

    const result = await this.log.group(`Follow deployment ${initial.id} of ${app}`, async () => {
      try {
        return await this.followOnly(app, initial, info);
      } finally {
        await announced;
      }
    });
    await this.conclude(app, result.outcome, result.deployment);
  }

  private async followOnly(app: string, initial: Deployment, info: DeploymentInfo): Promise<FollowResult> {
    const s = this.settings;
    const client = this.api();
    const r = await followDeployment({
      initial,
      getDeployment: () => client.getDeployment(app, initial.id),
      intervalMs: s.pollIntervalMs,
      deadline: this.deadline,
      now: this.now,
      sleep: this.sleep,
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
      onStatus: (status, elapsed) => {
        info.status = status;
        this.log.info(`${status} (${formatDuration(elapsed)})`);
      },
      onRetry: (err) => this.log.info(`status not read (${describeTransient(err)}): trying again`),
    });
    info.status = r.deployment.status;
    if (r.outcome === 'success' || r.outcome === 'failed') info.endedAt = r.endedAt;
    return r;
  }

  private async conclude(app: string, outcome: FollowOutcome, deployment: Deployment): Promise<void> {
    const s = this.settings;
    const where = this.report.dashboardUrl ?? dashboardUrl(s.region, app);
    switch (outcome) {
      case 'success':
        this.log.info(`Deployed ${app}${this.report.appUrl ? `: ${this.report.appUrl}` : ''}`);
        this.finish(true, 'success', `deployment ${deployment.id} of ${app} succeeded`);
        return;
      case 'failed': {
        const known = (KNOWN_TERMINAL_STATUSES as readonly string[]).includes(deployment.status);
        await this.showOutput(app, deployment);
        this.finish(false, 'failed', `Deployment ${deployment.id} of ${app} ended with status ${deployment.status}${known ? '' : ' (a status this step does not know: counted as a failure)'}: see the build output above and ${where}`);
        return;
      }
      case 'timed-out':
        this.report.timedOut = true;
        this.finish(false, 'timed-out', `Deployment ${deployment.id} of ${app} was still ${deployment.status} after ${formatDuration(s.timeoutMs)} (timeout-minutes): it goes on on Scalingo, see ${where}; raise \`timeout-minutes\` if it needs longer.`);
        return;
      case 'cancelled':
        this.finish(false, 'cancelled', `Cancelled while following: deployment ${deployment.id} of ${app} is still ${deployment.status} on Scalingo, see ${where}.`);
        return;
    }
  }

  private async showOutput(app: string, deployment: Deployment): Promise<void> {
    try {
      const output = await this.api().deploymentOutput(app, deployment);
      if (!output) return;
      const lines = output.replace(/\s+$/, '').split('\n');
      const tail = lines.slice(-OUTPUT_TAIL_LINES).join('\n');
      if (this.report.deployment) this.report.deployment.outputTail = tail;
      await this.log.group(`Build output of ${deployment.id} (last ${Math.min(lines.length, OUTPUT_TAIL_LINES)} lines)`, async () => {
        for (const line of tail.split('\n')) this.log.info(line);
      });
    } catch (err) {
      this.log.debug(`build output not read: ${String(err)}`);
    }
  }

  private finish(ok: boolean, outcome: Outcome, message: string): void {
    this.report.ok = ok;
    this.report.outcome = outcome;
    this.report.message = message;
  }

  /**
   * Runs a request that must not be repeated blindly. After a failure that leaves unknown whether it took effect,
   * `check` looks for its effect; found, the run carries on with it; not found, the request is sent once more.
   */
  private async once<T>(what: string, send: () => Promise<T>, check: () => Promise<T | undefined>): Promise<T> {
    this.lastWrite = what;
    try {
      return await send();
    } catch (err) {
      if (!isAmbiguous(err)) throw err;
      this.log.info(`No clear answer (${describeTransient(err)}): checking whether it took effect before anything else`);
      let effect = await check();
      // A server slower than our timeout may still be processing it: look twice more, a timeout apart.
      for (let look = 0; effect === undefined && isTimeout(err) && look < 2 && this.now() < this.deadline; look++) {
        this.log.info('Not yet: looking again, in case the server is only slow');
        await this.sleep(Math.min(this.settings.requestTimeoutMs, this.deadline - this.now()), this.deps.signal);
        effect = await check();
      }
      if (effect !== undefined) {
        this.log.info('It did: carrying on with it');
        return effect;
      }
      // Past the deadline there is no time to look again for a slow server's answer: sending it once more could
      // do it twice.
      if (this.now() >= this.deadline) {
        const where = dashboardUrl(this.settings.region, this.report.app ?? this.settings.app);
        throw new UserError(`The ${what} got no clear answer (${describeTransient(err)}) and showed no effect before the deadline (${formatDuration(this.settings.timeoutMs)}, timeout-minutes): not sent again, so that it is not done twice; check ${where} before running this again.`);
      }
      this.log.info('It did not: sending it once more');
      return send();
    }
  }
}

/**
 * Like Promise.all, but settles every request before failing, so that none is left running behind the report.
 * An unknown app is the failure reported first: it explains the others.
 */
async function allOf<A, B, C>(a: Promise<A>, b: Promise<B>, c: Promise<C>): Promise<[A, B, C]> {
  const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
  const reasons = [ra, rb, rc].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const first = reasons.find(isUnknownApp) ?? reasons[0];
  if (reasons.length) throw first;
  return [(ra as PromiseFulfilledResult<A>).value, (rb as PromiseFulfilledResult<B>).value, (rc as PromiseFulfilledResult<C>).value];
}

function isUnknownApp(err: unknown): boolean {
  return err instanceof ScalingoApiError && err.status === 404 && (err.details.resource === 'app' || /^\/v1\/apps\/[^/]+$/.test(err.path));
}

/** A write that failed this way may or may not have been processed. */
function isAmbiguous(err: unknown): boolean {
  if (err instanceof NetworkError) return !err.notSent;
  if (err instanceof UnexpectedResponseError) return true;
  return err instanceof ScalingoApiError && err.status >= 500;
}

function isTimeout(err: unknown): boolean {
  return err instanceof NetworkError && ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'].includes(err.code);
}

function describeTransient(err: unknown): string {
  if (err instanceof ScalingoApiError) return `HTTP ${err.status}`;
  if (err instanceof NetworkError) return err.code;
  if (err instanceof UnexpectedResponseError) return 'unreadable answer';
  return err instanceof Error ? err.message : String(err);
}

/**
 * The deployment a trigger started, from the app's newest deployments (newest first): one newer than the one that
 * was the latest before the trigger, or, when that is unknown, one created since the trigger (give or take clock
 * differences). The oldest such one is the trigger's; later ones were started by something else.
 */
function newDeployment(recent: Deployment[], previousId: string | undefined, since: number): Deployment | undefined {
  const index = previousId === undefined ? -1 : recent.findIndex((d) => d.id === previousId);
  const candidates = index >= 0
    ? recent.slice(0, index)
    : recent.filter((d) => {
      const created = d.created_at ? Date.parse(d.created_at) : NaN;
      return Number.isFinite(created) && created >= since - 2 * 60_000;
    });
  return candidates[candidates.length - 1];
}

/** The review app list may name a branch `owner:branch` (as GitHub labels it); git branch names have no colon. */
function branchName(name: string | undefined): string | undefined {
  return name?.slice(name.lastIndexOf(':') + 1) || undefined;
}

function findReviewApp(list: ReviewApp[], pr: number): ReviewApp | undefined {
  return list.find((ra) => Number(ra.pull_request?.number) === pr);
}

function linkState(link: ScmRepoLink | null): string {
  return JSON.stringify(link ?? null);
}

function describeIntegration(i: ScmIntegration): string {
  return `${i.scm_type ?? 'scm'} ${i.url ?? '?'}${i.username ? ` (${i.username})` : ''} id ${i.id}`;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function show(value: unknown): string {
  return value === undefined ? '(unset)' : String(value);
}

