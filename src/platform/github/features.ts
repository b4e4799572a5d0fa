/**
 * The pull request comment and GitHub deployments. octokit is imported only when one of them is needed, and any
 * failure here is a warning: a deploy never fails because GitHub could not be told about it.
 */
import type { CiContext } from '../../core/event.js';
import type { Logger } from '../../core/log.js';
import { commentMarker, renderComment, type CommentState } from '../../core/render.js';
import type { AppReport } from '../../core/report.js';
import type { DeploymentEvent } from '../../core/session.js';
import { loadOctokit, type CallBudget, type Octokit, type OctokitTuning } from './octokit.js';

/**
 * Added to a call's time for the pauses between writes that the throttling makes: 3 s before a new comment, and 1 s
 * for each app of the step whose writes may queue before it.
 */
const spacingAllowanceMs = (apps: number) => 3000 + 1000 * Math.max(1, apps);

export interface FeatureOptions {
  token: string;
  comment: boolean;
  deployment: boolean;
  environment: string | undefined;
  ctx: CiContext;
  repository: string | undefined;
  dryRun: boolean;
  log: Logger;
  /** How long one feature (a comment, a deployment status) may take before it is given up with a warning. */
  timeoutMs: number;
  /** The step's apps as given (none: found through the links): whose review apps the step's one comment shows. */
  apps: readonly string[];
  /** GitHub's API URL; when unset, @actions/github's (`GITHUB_API_URL`, else api.github.com). */
  apiUrl?: string;
  /** Tests: a shorter unit for the plugins' waits, a clock. */
  tuning?: OctokitTuning;
}

export class GitHubFeatures {
  private octokit?: Promise<Octokit>;
  private commentId?: number;
  /** GitHub deployments, by (parent) app: one per app of the step. */
  private readonly deploymentIds = new Map<string, number>();
  /** The rows of the step's comment, by app. */
  private readonly commentStates = new Map<string, CommentState>();
  /** Comment writes, one after the other: apps of one step share the comment. */
  private commentQueue: Promise<void> = Promise.resolve();
  private readonly owner?: string;
  private readonly repo?: string;
  /** A missing token or repository is said once per step, not once per call. */
  private skippedSaid = false;

  constructor(private readonly opts: FeatureOptions) {
    const [owner, repo] = (opts.repository ?? '').split('/');
    if (owner && repo) {
      this.owner = owner;
      this.repo = repo;
    }
  }

  private get pullRequest(): number | undefined {
    const e = this.opts.ctx.event;
    return e.kind === 'pull-request' ? e.pr.number : undefined;
  }

  private wantsComment(): boolean {
    return this.opts.comment && !this.opts.dryRun && this.pullRequest !== undefined;
  }

  private client(): Promise<Octokit> {
    this.octokit ??= loadOctokit(this.opts.token, this.opts.apiUrl, this.opts.tuning).then((o) => {
      this.opts.log.debug('GitHub API client loaded');
      return o;
    });
    return this.octokit;
  }

  /**
   * Runs GitHub calls, retried and throttled by the client's plugins, and given up at the call's deadline even while a
   * plugin waits; a failure is one warning that says what happened and what to grant.
   */
  private async attempt(
    what: string,
    permission: string,
    fn: (o: Octokit, request: CallBudget) => Promise<void>,
  ): Promise<void> {
    if (!this.opts.token || !this.owner || !this.repo) {
      if (!this.skippedSaid)
        this.opts.log.warning(`${what} skipped: no GitHub token or repository (set \`github-token\`).`);
      this.skippedSaid = true;
      return;
    }
    const budgetMs = this.opts.timeoutMs + spacingAllowanceMs(this.opts.apps.length);
    const now = this.opts.tuning?.now ?? Date.now;
    let limitNote: string | undefined;
    const budget: CallBudget = {
      signal: AbortSignal.timeout(budgetMs),
      deadline: now() + budgetMs,
      noteLimit: (note) => {
        limitNote = note;
      },
    };
    let stop: (() => void) | undefined;
    const stopped = new Promise<'stopped'>((resolve) => {
      stop = () => resolve('stopped');
      budget.signal.addEventListener('abort', stop, { once: true });
    });
    try {
      const call = this.client().then((o) => fn(o, budget));
      call.catch(() => undefined); // given up below when the deadline comes first
      if ((await Promise.race([call, stopped])) === 'stopped') throw budget.signal.reason;
    } catch (err) {
      if (limitNote) {
        this.opts.log.warning(`${what} given up: ${limitNote}.`, 'GitHub API');
      } else if (budget.signal.aborted) {
        this.opts.log.warning(
          `${what} given up: GitHub did not answer within ${budgetMs / 1000} s (request-timeout-seconds, plus the pauses GitHub asks for between writes).`,
          'GitHub API',
        );
      } else {
        const status = (err as { status?: number }).status;
        this.opts.log.warning(
          `${what} failed${status ? ` (${status})` : ''}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}. The workflow needs \`permissions: ${permission}\`; pull requests from forks get a read-only token.`,
          'GitHub API',
        );
      }
    } finally {
      if (stop) budget.signal.removeEventListener('abort', stop);
    }
  }

  async started(e: DeploymentEvent): Promise<void> {
    const sha = this.sha(e.pullRequest?.sha);
    if (this.wantsComment() && e.reviewApp) {
      await this.upsertComment({
        app: e.parentApp,
        reviewApp: e.reviewApp,
        status: e.status,
        ...opt('appUrl', e.appUrl),
        dashboardUrl: e.dashboardUrl,
        ...opt('sha', sha),
      });
    }
    if (this.opts.deployment && !this.opts.dryRun && sha) {
      const review = e.reviewApp !== undefined;
      const environment = this.environmentOf(e.app, e.parentApp, review ? e.pullRequest?.number : undefined);
      await this.attempt('GitHub deployment', 'deployments: write', async (o, request) => {
        const created = await o.rest.repos.createDeployment({
          owner: this.owner!,
          repo: this.repo!,
          ref: sha,
          environment,
          auto_merge: false,
          required_contexts: [],
          transient_environment: review,
          production_environment: !review,
          description: `Scalingo deployment ${e.deploymentId} of ${e.app}`,
          payload: { scalingo_app: e.app, scalingo_deployment: e.deploymentId },
          request,
        });
        const id = (created.data as { id?: number }).id;
        if (typeof id !== 'number') throw new Error('GitHub did not create the deployment');
        this.deploymentIds.set(e.parentApp, id);
        await o.rest.repos.createDeploymentStatus({
          owner: this.owner!,
          repo: this.repo!,
          deployment_id: id,
          state: 'in_progress',
          ...opt('log_url', this.opts.ctx.runUrl),
          ...opt('environment_url', e.appUrl),
          description: 'Deploying on Scalingo',
          request,
        });
      });
    }
  }

  async finished(report: AppReport): Promise<void> {
    const pr = report.pullRequest;
    if (this.wantsComment() && pr && report.reviewApp) {
      const closed = report.action?.kind === 'review-app-closed';
      await this.upsertComment(
        {
          app: report.parentApp,
          reviewApp: report.reviewApp,
          status: closed ? 'closed' : (report.deployment?.status ?? report.outcome),
          ...opt('appUrl', report.appUrl),
          ...opt('dashboardUrl', report.dashboardUrl),
          ...opt('sha', this.sha(pr.sha)),
          ...opt('gitRef', report.deployment?.gitRef),
          ...opt(
            'note',
            closed
              ? report.notes[0]
              : !report.ok
                ? report.message
                : report.deployment?.followed === false
                  ? `Deployment ${report.deployment.id} started (${report.deployment.status} then); this run did not follow it, so whether it succeeds is not known here.`
                  : undefined,
          ),
          ...opt('tail', report.outcome === 'failed' ? report.deployment?.outputTail : undefined),
        },
        closed,
      );
    }
    if (this.opts.deployment && !this.opts.dryRun && report.action?.kind === 'review-app-closed') {
      const number = report.action.pr.number;
      // The review app may be gone already, unnamed by the report: Scalingo's naming rule then.
      const reviewApp = report.reviewApp ?? `${report.parentApp}-pr${number}`;
      await this.deactivate(this.environmentOf(reviewApp, report.parentApp, number), number);
    }
    const id = this.deploymentIds.get(report.parentApp);
    if (id !== undefined) {
      const started = report.outcome === 'success' && report.deployment?.followed === false;
      const state = started
        ? 'in_progress'
        : report.outcome === 'success'
          ? 'success'
          : report.outcome === 'failed'
            ? 'failure'
            : 'error';
      await this.attempt('GitHub deployment status', 'deployments: write', async (o, request) => {
        await o.rest.repos.createDeploymentStatus({
          owner: this.owner!,
          repo: this.repo!,
          deployment_id: id,
          state,
          ...opt('log_url', report.dashboardUrl ?? this.opts.ctx.runUrl),
          ...opt('environment_url', report.appUrl),
          description: `Scalingo: ${report.deployment?.status ?? report.outcome}`.slice(0, 140),
          auto_inactive: true,
          request,
        });
      });
    }
  }

  private sha(prSha: string | undefined): string | undefined {
    return prSha ?? this.opts.ctx.sha;
  }

  /**
   * The GitHub environment of an app's deployments: `environment`, else the app deployed; for a review app, one per
   * pull request. In a step of several apps, a given environment is a prefix: each app keeps its own environment.
   */
  private environmentOf(app: string, parentApp: string, pullRequest: number | undefined): string {
    const named =
      this.opts.environment && this.opts.apps.length !== 1
        ? `${this.opts.environment}/${parentApp}`
        : this.opts.environment;
    if (!named) return app;
    return pullRequest === undefined ? named : `${named}-pr${pullRequest}`;
  }

  /**
   * A closed pull request: the deployments of its review app's environment are marked `inactive`, so that GitHub no
   * longer shows them as active. The environment itself stays: `GITHUB_TOKEN` cannot delete environments.
   */
  private async deactivate(environment: string, pullRequest: number): Promise<void> {
    await this.attempt(
      `Marking the deployments of GitHub environment ${environment} inactive`,
      'deployments: write',
      async (o, request) => {
        const owner = this.owner!;
        const repo = this.repo!;
        let marked = 0;
        // Page by page by hand: octokit's paginator does not pass the abort signal on.
        for (let page = 1; ; page++) {
          const { data } = await o.rest.repos.listDeployments({
            owner,
            repo,
            environment,
            per_page: 100,
            page,
            request,
          });
          for (const deployment of data) {
            const {
              data: [latest],
            } = await o.rest.repos.listDeploymentStatuses({
              owner,
              repo,
              deployment_id: deployment.id,
              per_page: 1,
              request,
            });
            if (latest?.state === 'inactive') continue;
            await o.rest.repos.createDeploymentStatus({
              owner,
              repo,
              deployment_id: deployment.id,
              state: 'inactive',
              description: `Pull request #${pullRequest} closed`,
              request,
            });
            marked++;
          }
          if (data.length < 100) break;
        }
        this.opts.log.info(
          marked > 0
            ? `GitHub environment ${environment}: ${marked} deployment(s) marked inactive (pull request #${pullRequest} closed)`
            : `GitHub environment ${environment}: no active deployment to mark inactive`,
        );
      },
    );
  }

  /** One comment per app, found by its hidden marker: updated on every run, created only the first time. */
  private upsertComment(state: CommentState, onlyUpdate = false): Promise<void> {
    const queued = this.commentQueue.then(() => this.writeComment(state, onlyUpdate));
    this.commentQueue = queued.catch(() => undefined);
    return queued;
  }

  private async writeComment(state: CommentState, onlyUpdate: boolean): Promise<void> {
    const number = this.pullRequest;
    if (number === undefined) return;
    this.commentStates.set(state.app, state);
    const body = renderComment(this.opts.apps, [...this.commentStates.values()], this.opts.ctx.runUrl);
    await this.attempt('Pull request comment', 'pull-requests: write', async (o, request) => {
      const owner = this.owner!;
      const repo = this.repo!;
      if (this.commentId === undefined) {
        const marker = commentMarker(this.opts.apps);
        // Page by page by hand: octokit's paginator does not pass the abort signal on.
        for (let page = 1; this.commentId === undefined; page++) {
          const { data } = await o.rest.issues.listComments({
            owner,
            repo,
            issue_number: number,
            per_page: 100,
            page,
            request,
          });
          this.commentId = data.find((c) => c.body?.includes(marker))?.id;
          if (data.length < 100) break;
        }
      }
      if (this.commentId !== undefined) {
        await o.rest.issues.updateComment({ owner, repo, comment_id: this.commentId, body, request });
      } else if (!onlyUpdate) {
        const created = await o.rest.issues.createComment({ owner, repo, issue_number: number, body, request });
        this.commentId = created.data.id;
      }
    });
  }
}

/** `{ key: value }` when value is defined, else `{}`: optional fields without `undefined` values. */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
