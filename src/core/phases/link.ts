/** The link between the app and its repository: reconciled with the settings, or deleted. Each returns what it did. */
import { INTEGRATIONS_PAGE } from '../../scalingo/dashboard.js';
import { notFound, ScalingoApiError } from '../../scalingo/errors.js';
import type { ScmIntegration, ScmRepoLink } from '../../scalingo/types.js';
import { assertNever, UserError } from '../errors.js';
import type { AppRun } from '../app-context.js';
import type { LinkResult, Outcome } from '../report.js';
import { matchIntegrations, newLinkBranch, planLink, type FieldChange, type LinkPlan } from '../plan.js';
import { linkSource, sameRepository } from '../repository.js';
import { isReviewAppLink } from '../review-app-plan.js';

/** What the link phase did: the link as it is afterwards (planned, in a dry run), and what changed. */
export interface LinkDecision {
  link: ScmRepoLink | null;
  result: LinkResult;
  changes: FieldChange[];
}

/**
 * Reads the link and makes it what the settings say. `read`: how the link is read, when the step has it already
 * (from its list of links); a read of the app's link otherwise.
 */
export async function reconcileLink(
  job: AppRun,
  read: () => Promise<ScmRepoLink | null> = () => job.client.getLink(job.app),
): Promise<LinkDecision> {
  const client = job.client;
  const current = await read();
  try {
    return await applyLinkPlan(job, current);
  } catch (err) {
    // Someone changed the link between our read and our write: read again and plan once more.
    if (isLinkWriteConflict(err)) {
      const again = await client.getLink(job.app);
      if (JSON.stringify(again) !== JSON.stringify(current)) {
        job.log.info('The link changed while this run was updating it: read it again and planning once more.');
        return applyLinkPlan(job, again);
      }
    }
    throw err;
  }
}

function isLinkWriteConflict(err: unknown): boolean {
  return (
    err instanceof ScalingoApiError &&
    [404, 409, 422].includes(err.status) &&
    notFound(err) !== 'app' &&
    err.path.endsWith('/scm_repo_link') &&
    (err.method === 'POST' || err.method === 'PATCH')
  );
}

async function applyLinkPlan(job: AppRun, current: ScmRepoLink | null): Promise<LinkDecision> {
  const s = job.settings;
  const plan = planLink(current, s, newLinkBranch(job.ctx.event));
  logLinkPlan(job, plan, current);
  switch (plan.kind) {
    case 'conflict':
      throw new UserError(
        `App ${job.app} is linked to ${plan.linkedTo}, not to ${s.source}: this step never re-links an app. Unlink it first (${job.setting('command', 'unlink')} or the dashboard), or set ${job.input('source')} to ${plan.linkedTo}.`,
      );
    case 'unchanged':
      return { link: current, result: 'unchanged', changes: [] };
    case 'update': {
      // The one write the step makes to a review app's link is its auto-deploy, from the review app flow.
      if (isReviewAppLink(current)) {
        throw new UserError(
          `App ${job.app} is a review app (its link follows ${current?.branch ?? '?'}, a ${job.terms.pr()}'s branch): this step never changes a review app's link. Set ${job.input('app')} to its parent app.`,
        );
      }
      if (s.dryRun) return { link: { ...current, ...plan.settings }, result: 'would-update', changes: plan.changes };
      job.writing('link update');
      const updated = await job.client.updateLink(job.app, plan.settings);
      return { link: updated, result: 'updated', changes: plan.changes };
    }
    case 'create': {
      const source = s.source;
      if (!source)
        throw new UserError(
          `The app has no SCM link and the repository is unknown: set ${job.input('source')} (e.g. https://github.com/owner/repo).`,
        );
      const integration = await findIntegration(job, source);
      if (s.dryRun)
        return {
          link: { ...plan.settings, auth_integration_uuid: integration },
          result: 'would-create',
          changes: plan.changes,
        };
      const params = { source, auth_integration_uuid: integration, ...plan.settings };
      // getLink has settled what an unnamed 404 meant: a 404 here is about the repository, not the app.
      const created = await job.once(
        'link creation',
        () => job.client.createLink(job.app, params),
        async () => {
          const link = await job.client.getLink(job.app);
          return link && sameRepository(linkSource(link) ?? source, source) ? link : undefined;
        },
      );
      return { link: created, result: 'created', changes: plan.changes };
    }
    default:
      return assertNever(plan);
  }
}

function logLinkPlan(job: AppRun, plan: LinkPlan, current: ScmRepoLink | null): void {
  const verb = job.settings.dryRun ? 'would ' : '';
  switch (plan.kind) {
    case 'create':
      job.log.info(`No SCM link yet: ${verb || 'will '}create it for ${job.settings.source ?? '(unknown repository)'}`);
      for (const c of plan.changes) job.log.info(`  ${c.field}: ${show(c.to)}`);
      return;
    case 'update':
      job.log.info(
        `Link to ${linkSource(current) ?? 'the repository'}: ${verb}change ${plan.changes.length} setting(s)`,
      );
      for (const c of plan.changes) job.log.info(`  ${c.field}: ${show(c.from)} -> ${show(c.to)}`);
      return;
    case 'unchanged':
      job.log.info(
        `Link to ${linkSource(current) ?? 'the repository'} (branch ${current?.branch ?? '?'}): already as given, nothing to change`,
      );
      return;
    case 'conflict':
      return;
    default:
      assertNever(plan);
  }
}

async function findIntegration(job: AppRun, source: string): Promise<string> {
  if (job.settings.scmIntegration) return job.settings.scmIntegration;
  const integrations = await job.client.listIntegrations();
  const { origin, matches } = matchIntegrations(integrations, source, job.ctx.serverUrl);
  if (matches.length === 1 && matches[0]) {
    job.log.info(`SCM integration: ${describeIntegration(matches[0])}`);
    return matches[0].id;
  }
  const found = integrations.length ? integrations.map(describeIntegration).join(', ') : 'none';
  if (matches.length === 0) {
    throw new UserError(
      `No SCM integration of the token's user matches ${origin} (found: ${found}): connect one at ${INTEGRATIONS_PAGE}, or set ${job.input('scm-integration')}.`,
    );
  }
  throw new UserError(
    `${matches.length} SCM integrations match ${origin} (${matches.map(describeIntegration).join(', ')}): set ${job.input('scm-integration')} to the id to use.`,
  );
}

/** Deletes the link read at the start (null: the app exists and has none, as getLink made sure). */
export async function unlink(
  job: AppRun,
  link: ScmRepoLink | null,
): Promise<{ result: LinkResult; outcome: Outcome; message: string }> {
  const s = job.settings;
  const result = await job.log.group(`Unlink ${job.app}`, async (): Promise<LinkResult> => {
    if (!link) {
      job.log.info(`App ${job.app} has no SCM link: nothing to delete`);
      return 'unchanged';
    }
    if (s.dryRun) {
      job.log.info(`Would delete the link of ${job.app} to ${linkSource(link) ?? 'its repository'}`);
      return 'would-delete';
    }
    job.writing('link deletion');
    await job.client.deleteLink(job.app);
    job.log.info(`Deleted the link of ${job.app} to ${linkSource(link) ?? 'its repository'}`);
    return 'deleted';
  });
  return s.dryRun
    ? { result, outcome: 'dry-run', message: 'dry run: the link would be deleted' }
    : { result, outcome: 'nothing-to-deploy', message: `link of ${job.app} deleted` };
}

function describeIntegration(i: ScmIntegration): string {
  return `${i.scm_type ?? 'scm'} ${i.url ?? '?'}${i.username ? ` (${i.username})` : ''} id ${i.id}`;
}

function show(value: unknown): string {
  return value === undefined ? '(unset)' : String(value);
}
