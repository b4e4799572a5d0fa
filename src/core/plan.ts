/** Pure decisions: what to do to the link, what to read and what to deploy. No request is made here. */
import { assertNever } from './errors.js';
import type { CiContext, CiEvent, PullRequestInfo, Terms } from './event.js';
import { LINK_FIELDS, type Command, type LinkField, type LinkSettings, type Settings } from './settings.js';
import type { Deployment, ScmIntegration, ScmRepoLink } from '../scalingo/types.js';
import { reviewAppGate } from './review-app-plan.js';
import { linkSource, sameRepository } from './repository.js';

export interface FieldChange {
  field: LinkField;
  input: string;
  from: unknown;
  to: unknown;
}

export type LinkPlan =
  | { kind: 'create'; settings: LinkSettings; changes: FieldChange[] }
  | { kind: 'update'; settings: LinkSettings; changes: FieldChange[] }
  | { kind: 'unchanged' }
  | { kind: 'conflict'; linkedTo: string };

/**
 * Plans the link: create it with every given setting, or change only the given settings that differ.
 * `defaultBranch` is the branch a new link follows when `branch` is not given.
 */
export function planLink(current: ScmRepoLink | null, settings: Settings, defaultBranch: string | undefined): LinkPlan {
  const wanted: LinkSettings = { ...settings.link };
  if (current === null) {
    if (wanted.branch === undefined && defaultBranch !== undefined) wanted.branch = defaultBranch;
    const changes = LINK_FIELDS.filter(({ field }) => wanted[field] !== undefined).map(({ field, input }) => ({
      field,
      input,
      from: undefined,
      to: wanted[field],
    }));
    return { kind: 'create', settings: wanted, changes };
  }
  const linkedTo = linkSource(current);
  if (settings.source && linkedTo && !sameRepository(linkedTo, settings.source)) return { kind: 'conflict', linkedTo };

  const changes: FieldChange[] = [];
  const update: LinkSettings = {};
  for (const { field, input } of LINK_FIELDS) {
    const to = wanted[field];
    if (to === undefined || current[field] === to) continue;
    changes.push({ field, input, from: current[field], to });
    (update as Record<string, unknown>)[field] = to;
  }
  return changes.length === 0 ? { kind: 'unchanged' } : { kind: 'update', settings: update, changes };
}

export type Action =
  | { kind: 'deploy'; branch: string; reason: string }
  | { kind: 'review-app'; pr: PullRequestInfo; reason: string }
  | { kind: 'review-app-closed'; pr: PullRequestInfo; reason: string }
  | { kind: 'none'; reason: string }
  | { kind: 'unlink'; reason: string };

/** The branch a new link should follow when `branch` is not given. */
export function newLinkBranch(event: CiEvent): string | undefined {
  switch (event.kind) {
    case 'push':
      return event.branch;
    case 'pull-request':
      return event.pr.baseBranch;
    case 'manual':
    case 'other':
      return event.branch;
    case 'tag':
    case 'none':
      return undefined;
    default:
      return assertNever(event);
  }
}

/**
 * Decides what the run does once the link is known. `followed` is the branch the app follows:
 * `branch` when given, else the link's branch.
 */
export function decideAction(settings: Settings, ctx: CiContext, followed: string | undefined): Action {
  const event = ctx.event;
  const t = ctx.terms;
  switch (settings.command) {
    case 'link':
      return { kind: 'none', reason: 'command is link: the link is reconciled, nothing is deployed' };
    case 'unlink':
      return { kind: 'unlink', reason: 'command is unlink' };
    case 'deploy': {
      const branch = settings.deployBranch ?? settings.link.branch ?? refBranch(event) ?? followed;
      return branch
        ? {
            kind: 'deploy',
            branch,
            reason: `command is deploy: deploying branch ${branch}${onceNote(settings, followed)}`,
          }
        : {
            kind: 'none',
            reason: `command is deploy but no branch is known: set \`${t.name('deploy-branch')}\` or \`${t.name('branch')}\``,
          };
    }
    case 'review-app': {
      const number = settings.pullRequest ?? (event.kind === 'pull-request' ? event.pr.number : undefined);
      if (number === undefined)
        return {
          kind: 'none',
          reason: `command is review-app but no ${t.pr()} is known: set \`${t.name('pull-request')}\``,
        };
      const pr: PullRequestInfo =
        event.kind === 'pull-request' && event.pr.number === number ? event.pr : { number, fork: false };
      const held = reviewAppGate(settings, pr, t);
      if (held) return { kind: 'none', reason: held };
      return { kind: 'review-app', pr, reason: `command is review-app: review app of ${t.prRef(number)}` };
    }
    case 'auto':
      return decideAuto(event, followed, settings, t);
    default:
      return assertNever(settings.command);
  }
}

/** `deploy-branch` deploys once: the link goes on following its own branch. */
function onceNote(settings: Settings, followed: string | undefined): string {
  const d = settings.deployBranch;
  return d !== undefined && followed !== undefined && d !== followed
    ? ` once (the link still follows ${followed})`
    : '';
}

function refBranch(event: CiEvent): string | undefined {
  return event.kind === 'push' || event.kind === 'manual' ? event.branch : undefined;
}

function decideAuto(event: CiEvent, followed: string | undefined, settings: Settings, t: Terms): Action {
  const branchInput = settings.link.branch;
  const branch = `\`${t.name('branch')}\``;
  switch (event.kind) {
    case 'push':
      if (event.deleted) return { kind: 'none', reason: `branch ${event.branch} was deleted: nothing to deploy` };
      if (followed !== undefined && event.branch !== followed) {
        return {
          kind: 'none',
          reason: `push to ${event.branch}, but the app follows ${followed}: nothing deployed (set ${branch} to change which branch deploys)`,
        };
      }
      return { kind: 'deploy', branch: event.branch, reason: `push to ${event.branch}, the branch the app follows` };
    case 'tag':
      return {
        kind: 'none',
        reason: `push of tag ${event.tag}: tags are not deployed (use \`${t.setting('command', 'deploy')}\` with ${branch} to deploy a given ref)`,
      };
    case 'pull-request':
      if (event.action === 'open' || event.action === 'update') {
        // A label added is news only when it is the one that asks for a review app.
        if (event.label !== undefined && event.label !== settings.reviewAppLabel) {
          return { kind: 'none', reason: `${t.pr(event.pr.number)} labeled ${event.label}: nothing to deploy` };
        }
        const held = reviewAppGate(settings, event.pr, t);
        if (held) return { kind: 'none', reason: held };
        return {
          kind: 'review-app',
          pr: event.pr,
          reason: `${t.pr(event.pr.number)} ${event.rawAction}${event.label !== undefined ? ` ${event.label}` : ''}`,
        };
      }
      if (event.action === 'close')
        return { kind: 'review-app-closed', pr: event.pr, reason: `${t.pr(event.pr.number)} closed` };
      return { kind: 'none', reason: `${t.pr(event.pr.number)} ${event.rawAction}: nothing to deploy` };
    case 'manual': {
      // Run on a tag: the tag's code is not a branch, and deploying the followed branch instead would surprise.
      const deployed = settings.deployBranch ?? branchInput ?? event.branch ?? (event.tag ? undefined : followed);
      if (deployed)
        return {
          kind: 'deploy',
          branch: deployed,
          reason: `${event.trigger} run: deploying branch ${deployed}${onceNote(settings, followed)}`,
        };
      return {
        kind: 'none',
        reason: `${event.trigger} run on ${event.tag ? `tag ${event.tag}` : 'no branch'}: set \`${t.name('deploy-branch')}\` or ${branch} to deploy`,
      };
    }
    case 'other':
      return { kind: 'none', reason: `event ${event.name}: only the link is reconciled` };
    case 'none':
      return { kind: 'none', reason: `not in a CI run: only the link is reconciled (set \`${t.name('command')}\`)` };
    default:
      return assertNever(event);
  }
}

/**
 * Reads the action will need, made alongside the link read. Not the review app list: it needs the link, which may
 * not exist before the link step (see `reviewAppsReadable`).
 */
export function readAhead(
  command: Command,
  event: CiEvent,
): {
  /** The app, and its newest deployment (`GET …/deployments?per_page=1`): what a deploy's trigger is checked against. */
  app: boolean;
} {
  const deploying = command === 'deploy' || (command === 'auto' && (event.kind === 'push' || event.kind === 'manual'));
  return { app: deploying };
}

/**
 * A run that cannot know its pull request fails before any request, so that it changes nothing: `command:
 * review-app` with no number given nor in the event, or a pull request event that names none.
 */
export function missingPullRequest(settings: Settings, ctx: CiContext): string | undefined {
  const t = ctx.terms;
  const event = ctx.event;
  if (settings.command === 'review-app' && settings.pullRequest === undefined && event.kind !== 'pull-request') {
    return `\`${t.setting('command', 'review-app')}\` needs a ${t.pr()} number: set \`${t.name('pull-request')}\`, or run it on a ${t.pr()} event. Nothing was changed.`;
  }
  if (
    (settings.command === 'auto' || settings.command === 'review-app') &&
    settings.pullRequest === undefined &&
    event.kind === 'other' &&
    event.noPullRequestNumber
  ) {
    return `The ${event.name} event names no ${t.pr()} number (its payload has none): nothing was changed. Run on a complete ${t.pr()} event, or set \`${t.setting('command', 'review-app')}\` with \`${t.name('pull-request')}\`.`;
  }
  return undefined;
}

/**
 * What a run without a usable token does: skip a pull request from a fork (forks get no secrets) unless told to
 * fail, fail otherwise; a token with spaces or control characters is a paste gone wrong.
 */
export function tokenDecision(settings: Settings, event: CiEvent): 'use' | 'skip' | 'missing' | 'malformed' {
  if (!settings.apiToken)
    return event.kind === 'pull-request' && event.pr.fork && !settings.failWithoutToken ? 'skip' : 'missing';
  // eslint-disable-next-line no-control-regex
  return /[\s\x00-\x1f\x7f]/.test(settings.apiToken) ? 'malformed' : 'use';
}

/**
 * The SCM integrations that serve a repository: those whose URL is the repository's host, or the CI's own server
 * when the repository lives under it (a GitLab under a path).
 */
export function matchIntegrations(
  integrations: ScmIntegration[],
  source: string,
  serverUrl: string | undefined,
): { origin: string; matches: ScmIntegration[] } {
  const origin = new URL(source).origin.toLowerCase();
  const server = serverUrl?.replace(/\/+$/, '').toLowerCase();
  const roots = new Set([origin, ...(server && source.toLowerCase().startsWith(`${server}/`) ? [server] : [])]);
  return { origin, matches: integrations.filter((i) => i.url && roots.has(i.url.replace(/\/+$/, '').toLowerCase())) };
}

/** How far Scalingo's clock may be behind the runner's when a deployment's `created_at` is compared to a trigger. */
export const CLOCK_SKEW_MS = 30_000;

/**
 * The deployment a trigger (sent at `since`, epoch ms) may have started, from the app's newest deployments (newest
 * first), or undefined. Adopted only when BOTH newer than `before` (the app's newest deployment read before the
 * trigger; undefined when the app had none) and created at or after the trigger give or take `CLOCK_SKEW_MS`: never
 * an older deployment, failed or successful. Among those, the one that built `commit` (the run's commit, when known
 * and when it is the branch deployed); else the oldest, since later ones were started by something else.
 */
export function newDeployment(
  recent: Deployment[],
  before: Deployment | undefined,
  since: number,
  commit?: string,
): Deployment | undefined {
  const created = (d: Deployment): number => (d.created_at ? Date.parse(d.created_at) : NaN);
  const index = before ? recent.findIndex((d) => d.id === before.id) : -1;
  const newerThanBefore = (d: Deployment, i: number): boolean => {
    if (!before) return true;
    if (index >= 0) return i < index;
    // The one before has left the page read: newer by date, strictly.
    return d.id !== before.id && created(d) > created(before);
  };
  const oldestFirst = recent.filter((d, i) => newerThanBefore(d, i) && created(d) >= since - CLOCK_SKEW_MS).reverse();
  return (commit ? oldestFirst.find((d) => sameCommit(d.git_ref, commit)) : undefined) ?? oldestFirst[0];
}

/** Two commit SHAs, either possibly abbreviated, name the same commit. */
export function sameCommit(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return Math.min(x.length, y.length) >= 7 && (x.startsWith(y) || y.startsWith(x));
}

/**
 * One line when the deployment builds another commit than the run's: Scalingo deploys the branch's head, which moved
 * on since the run started, or was already ahead of it. Undefined when they are the same commit or either is unknown.
 */
export function commitMismatch(d: { gitRef?: string | undefined; runCommit?: string | undefined }): string | undefined {
  if (!d.gitRef || !d.runCommit || sameCommit(d.gitRef, d.runCommit)) return undefined;
  return `Scalingo built ${d.gitRef.slice(0, 7)}, the branch's head, not this run's commit ${d.runCommit.slice(0, 7)}: the branch moved on since, or this run is older than its head.`;
}

/**
 * The commit a deploy of `branch` is expected to build: the run's commit when the run is about that branch (a push
 * to it, a manual run on it); unknown otherwise (another branch given to deploy, a tag).
 */
export function expectedCommit(ctx: CiContext, branch: string): string | undefined {
  const event = ctx.event;
  if ((event.kind === 'push' || event.kind === 'manual') && event.branch === branch) return event.sha ?? ctx.sha;
  return undefined;
}
