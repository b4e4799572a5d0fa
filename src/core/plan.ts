/** Pure decisions: what to do to the link, what to read and what to deploy. No request is made here. */
import { assertNever } from './errors.js';
import type { CiContext, CiEvent, PullRequestInfo, Terms } from './event.js';
import { LINK_FIELDS, type Command, type LinkField, type LinkSettings, type Settings } from './settings.js';
import type { Deployment, ReviewApp, ScmIntegration, ScmRepoLink } from '../scalingo/types.js';

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
 * The repository a link points to, as `https://host/owner/repo`, when the link says; as `owner/repo` when the
 * link does not give its SCM's URL.
 */
export function linkSource(link: ScmRepoLink | null): string | undefined {
  if (!link?.owner || !link.repo) return undefined;
  const root = (link.url ?? '').replace(/\/+$/, '');
  return root ? `${root}/${link.owner}/${link.repo}` : `${link.owner}/${link.repo}`;
}

/**
 * Compares repository URLs the way the SCM does: scheme-less, case-insensitive, without `.git` or a final slash.
 * A scheme-less `owner/repo` (a link without its SCM's URL) matches that path on any host.
 */
export function sameRepository(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/^https?:\/\//i, '').replace(/\.git$/i, '').replace(/\/+$/, '').toLowerCase();
  const hasHost = (s: string): boolean => /^https?:\/\//i.test(s);
  const path = (s: string): string => norm(s).replace(/^[^/]+\//, '');
  if (hasHost(a) === hasHost(b)) return norm(a) === norm(b);
  return hasHost(a) ? path(a) === norm(b) : norm(a) === path(b);
}

/**
 * Plans the link: create it with every given setting, or change only the given settings that differ.
 * `defaultBranch` is the branch a new link follows when `branch` is not given.
 */
export function planLink(current: ScmRepoLink | null, settings: Settings, defaultBranch: string | undefined): LinkPlan {
  const wanted: LinkSettings = { ...settings.link };
  if (current === null) {
    if (wanted.branch === undefined && defaultBranch !== undefined) wanted.branch = defaultBranch;
    const changes = LINK_FIELDS.filter(({ field }) => wanted[field] !== undefined).map(({ field, input }) => ({ field, input, from: undefined, to: wanted[field] }));
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
      const branch = settings.link.branch ?? refBranch(event) ?? followed;
      return branch
        ? { kind: 'deploy', branch, reason: `command is deploy: deploying branch ${branch}` }
        : { kind: 'none', reason: `command is deploy but no branch is known: set \`${t.name('branch')}\`` };
    }
    case 'review-app': {
      const number = settings.pullRequest ?? (event.kind === 'pull-request' ? event.pr.number : undefined);
      if (number === undefined) return { kind: 'none', reason: `command is review-app but no ${t.pr()} is known: set \`${t.name('pull-request')}\`` };
      const pr: PullRequestInfo = event.kind === 'pull-request' && event.pr.number === number ? event.pr : { number, fork: false };
      return { kind: 'review-app', pr, reason: `command is review-app: review app of ${t.prRef(number)}` };
    }
    case 'auto':
      return decideAuto(event, followed, settings.link.branch, t);
    default:
      return assertNever(settings.command);
  }
}

function refBranch(event: CiEvent): string | undefined {
  return event.kind === 'push' || event.kind === 'manual' ? event.branch : undefined;
}

function decideAuto(event: CiEvent, followed: string | undefined, branchInput: string | undefined, t: Terms): Action {
  const branch = `\`${t.name('branch')}\``;
  switch (event.kind) {
    case 'push':
      if (event.deleted) return { kind: 'none', reason: `branch ${event.branch} was deleted: nothing to deploy` };
      if (followed !== undefined && event.branch !== followed) {
        return { kind: 'none', reason: `push to ${event.branch}, but the app follows ${followed}: nothing deployed (set ${branch} to change which branch deploys)` };
      }
      return { kind: 'deploy', branch: event.branch, reason: `push to ${event.branch}, the branch the app follows` };
    case 'tag':
      return { kind: 'none', reason: `push of tag ${event.tag}: tags are not deployed (use \`${t.setting('command', 'deploy')}\` with ${branch} to deploy a given ref)` };
    case 'pull-request':
      if (event.action === 'open' || event.action === 'update') {
        return { kind: 'review-app', pr: event.pr, reason: `${t.pr(event.pr.number)} ${event.rawAction}` };
      }
      if (event.action === 'close') return { kind: 'review-app-closed', pr: event.pr, reason: `${t.pr(event.pr.number)} closed` };
      return { kind: 'none', reason: `${t.pr(event.pr.number)} ${event.rawAction}: nothing to deploy` };
    case 'manual': {
      // Run on a tag: the tag's code is not a branch, and deploying the followed branch instead would surprise.
      const deployed = branchInput ?? event.branch ?? (event.tag ? undefined : followed);
      if (deployed) return { kind: 'deploy', branch: deployed, reason: `${event.trigger} run: deploying branch ${deployed}` };
      return { kind: 'none', reason: `${event.trigger} run on ${event.tag ? `tag ${event.tag}` : 'no branch'}: set ${branch} to deploy` };
    }
    case 'other':
      return { kind: 'none', reason: `event ${event.name}: only the link is reconciled` };
    case 'none':
      return { kind: 'none', reason: `not in a CI run: only the link is reconciled (set \`${t.name('command')}\`)` };
    default:
      return assertNever(event);
  }
}

/** Reads the action will need, made alongside the link read. */
export function readAhead(command: Command, event: CiEvent): { app: boolean; reviewApps: boolean } {
  const deploying = command === 'deploy' || (command === 'auto' && (event.kind === 'push' || event.kind === 'manual'));
  const reviewing = command === 'review-app' || (command === 'auto' && event.kind === 'pull-request');
  return { app: deploying, reviewApps: reviewing };
}

/**
 * What a run without a usable token does: skip a pull request from a fork (forks get no secrets) unless told to
 * fail, fail otherwise; a token with spaces or control characters is a paste gone wrong.
 */
export function tokenDecision(settings: Settings, event: CiEvent): 'use' | 'skip' | 'missing' | 'malformed' {
  if (!settings.apiToken) return event.kind === 'pull-request' && event.pr.fork && !settings.failWithoutToken ? 'skip' : 'missing';
  // eslint-disable-next-line no-control-regex
  return /[\s\x00-\x1f\x7f]/.test(settings.apiToken) ? 'malformed' : 'use';
}

/**
 * The SCM integrations that serve a repository: those whose URL is the repository's host, or the CI's own server
 * when the repository lives under it (a GitLab under a path).
 */
export function matchIntegrations(integrations: ScmIntegration[], source: string, serverUrl: string | undefined): { origin: string; matches: ScmIntegration[] } {
  const origin = new URL(source).origin.toLowerCase();
  const server = serverUrl?.replace(/\/+$/, '').toLowerCase();
  const roots = new Set([origin, ...(server && source.toLowerCase().startsWith(`${server}/`) ? [server] : [])]);
  return { origin, matches: integrations.filter((i) => i.url && roots.has(i.url.replace(/\/+$/, '').toLowerCase())) };
}

/**
 * The deployment a trigger started, from the app's newest deployments (newest first): one newer than the one that
 * was the latest before the trigger, or, when that is unknown, one created since the trigger (give or take clock
 * differences). The oldest such one is the trigger's; later ones were started by something else.
 */
export function newDeployment(recent: Deployment[], previousId: string | undefined, since: number): Deployment | undefined {
  const index = previousId === undefined ? -1 : recent.findIndex((d) => d.id === previousId);
  const candidates = index >= 0
    ? recent.slice(0, index)
    : recent.filter((d) => {
      const created = d.created_at ? Date.parse(d.created_at) : NaN;
      return Number.isFinite(created) && created >= since - 2 * 60_000;
    });
  return candidates[candidates.length - 1];
}

export function findReviewApp(list: ReviewApp[], pr: number): ReviewApp | undefined {
  return list.find((ra) => Number(ra.pull_request?.number) === pr);
}

/** The review app list may name a branch `owner:branch` (as GitHub labels it); git branch names have no colon. */
export function branchName(name: string | undefined): string | undefined {
  return name?.slice(name.lastIndexOf(':') + 1) || undefined;
}
