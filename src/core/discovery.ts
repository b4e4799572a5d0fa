/**
 * Discovery, pure: which of the user's links are this repository's, and which of their apps a step runs for the
 * event. No request is made here (the list of links is read by the client, page after page).
 */
import type { ReviewApp, ScmRepoLink } from '../scalingo/types.js';
import { assertNever } from './errors.js';
import type { CiEvent, Terms } from './event.js';
import { linksTo } from './repository.js';
import { isReviewAppLink } from './review-app-plan.js';
import type { Command } from './settings.js';

/** An app linked to the repository: its name when known, else its id (the API takes either), and its link. */
export interface LinkedApp {
  /** The app's name, or its id until the name is read. */
  app: string;
  named: boolean;
  link: ScmRepoLink;
}

/** The repository's links, as apps; links naming no app are left out. */
export function linkedApps(links: readonly ScmRepoLink[], source: string): LinkedApp[] {
  const apps: LinkedApp[] = [];
  for (const link of links) {
    if (!linksTo(link, source)) continue;
    const name = typeof link.app_name === 'string' && link.app_name ? link.app_name : undefined;
    const id = typeof link.app_id === 'string' && link.app_id ? link.app_id : undefined;
    const app = name ?? id;
    if (app === undefined || apps.some((a) => a.app === app)) continue;
    apps.push({ app, named: name !== undefined, link });
  }
  return apps;
}

/**
 * The repository's linked apps, review apps' own links set apart: they point at the same repository as their parent
 * and are in the list of links, but a step never manages them. A link that follows GitHub's head label
 * `owner:branch` is surely a review app's (no git branch holds a colon).
 */
export function withoutReviewApps(linked: readonly LinkedApp[]): { managed: LinkedApp[]; reviewApps: LinkedApp[] } {
  const managed: LinkedApp[] = [];
  const reviewApps: LinkedApp[] = [];
  for (const a of linked) (isReviewAppLink(a.link) ? reviewApps : managed).push(a);
  return { managed, reviewApps };
}

/**
 * The app whose review app list would tell whether `app` is one of its review apps: `<parent>` for an app named
 * `<parent>-pr<N>`, Scalingo's naming rule. The name alone proves nothing: only the parent's list does.
 */
export function suspectedParent(app: string): string | undefined {
  return /^(.+)-pr\d+$/.exec(app)?.[1];
}

/** Whether a review app list names the app, by name or by id. */
export function listsApp(list: readonly ReviewApp[], app: LinkedApp): boolean {
  const id = app.link.app_id;
  return list.some(
    (ra) => (app.named && ra.app_name === app.app) || (id !== undefined && (ra.app_id === id || ra.app_name === id)),
  );
}

/** "No Scalingo app is linked to …": with the scope of the list of links when known (its user and region). */
export function noneLinkedMessage(source: string, t: Terms, scope?: string): string {
  return `No Scalingo app is linked to ${source}${scope ? ` among ${scope} (Scalingo's list of links holds only those)` : ''}: set \`${t.name('app')}\` to the app(s) to deploy, or link an app to this repository (Scalingo dashboard, or \`${t.setting('command', 'link')}\` with \`${t.name('app')}\`).`;
}

export type Selection =
  /** Run for these apps. `branch` is the branch they were chosen by, when they were. */
  | { kind: 'apps'; apps: LinkedApp[]; branch?: string; reason: string }
  /** No app is linked to the repository: the step fails. */
  | { kind: 'none-linked'; message: string }
  /** Apps are linked, none for this event: the step passes and says which follows what. */
  | { kind: 'none-selected'; message: string };

/**
 * The apps a step runs for: on a push, those whose link follows the pushed branch; on a pull request, those whose
 * link follows its base branch (their review apps); on a manual run, those following the run's branch. `command:
 * link` reconciles every linked app.
 */
export function selectApps(
  linked: readonly LinkedApp[],
  source: string,
  command: Command,
  event: CiEvent,
  branchInput: string | undefined,
  t: Terms,
): Selection {
  if (linked.length === 0) return { kind: 'none-linked', message: noneLinkedMessage(source, t) };
  if (command === 'link')
    return { kind: 'apps', apps: [...linked], reason: `${linked.length} app(s) linked to ${source}` };
  const chosen = selectionBranch(command, event, branchInput, t);
  if ('none' in chosen)
    return { kind: 'none-selected', message: `${chosen.none}; apps linked to ${source}: ${following(linked)}.` };
  const apps = linked.filter((a) => a.link.branch === chosen.branch);
  if (apps.length === 0) {
    return {
      kind: 'none-selected',
      message: `No app linked to ${source} follows ${chosen.branch} (${chosen.why}): nothing deployed. Apps linked: ${following(linked)}.`,
    };
  }
  return {
    kind: 'apps',
    apps,
    branch: chosen.branch,
    reason: `${apps.length} app(s) linked to ${source} follow ${chosen.branch} (${chosen.why})`,
  };
}

/** "api (main), web (main), worker (staging)". */
export function following(linked: readonly LinkedApp[]): string {
  return linked.map((a) => `${a.app} (${a.link.branch ?? 'no branch'})`).join(', ');
}

function selectionBranch(
  command: Command,
  event: CiEvent,
  branchInput: string | undefined,
  t: Terms,
): { branch: string; why: string } | { none: string } {
  const pr = (): { branch: string; why: string } | { none: string } => {
    if (event.kind !== 'pull-request')
      return { none: `no ${t.pr()} in this run to find review apps for: set \`${t.name('app')}\`` };
    const base = event.pr.baseBranch;
    return base
      ? { branch: base, why: `the base branch of ${t.pr(event.pr.number)}` }
      : { none: `the base branch of ${t.pr(event.pr.number)} is unknown: set \`${t.name('app')}\`` };
  };
  switch (command) {
    case 'review-app':
      return pr();
    case 'deploy': {
      const ref = event.kind === 'push' || event.kind === 'manual' ? event.branch : undefined;
      const branch = ref ?? branchInput;
      return branch
        ? { branch, why: ref ? 'the branch of this run' : `\`${t.name('branch')}\`` }
        : { none: `no branch is known to choose apps by: set \`${t.name('app')}\`` };
    }
    case 'auto':
      switch (event.kind) {
        case 'push':
          return { branch: event.branch, why: 'the pushed branch' };
        case 'pull-request':
          return pr();
        case 'manual':
          return event.branch
            ? { branch: event.branch, why: `the branch of this ${event.trigger} run` }
            : {
                none: `${event.trigger} run on ${event.tag ? `tag ${event.tag}` : 'no branch'}: nothing to choose apps by`,
              };
        case 'other':
          return event.branch
            ? { branch: event.branch, why: `the branch of this ${event.name} run` }
            : { none: `event ${event.name}: nothing to choose apps by` };
        case 'tag':
          return { none: `push of tag ${event.tag}: tags are not deployed` };
        case 'none':
          return { none: 'not in a CI run: nothing to choose apps by' };
        default:
          return assertNever(event);
      }
    case 'link':
    case 'unlink':
      return { none: `command ${command} chooses no branch` };
    default:
      return assertNever(command);
  }
}
