/**
 * Discovery: with no `app` given, the apps linked to this repository that the event concerns, found through the
 * token's user's list of links (every page it has), never a review app. The decisions are discovery.ts's (pure).
 */
import { notFound } from '../../scalingo/errors.js';
import {
  following,
  linkedApps,
  listsApp,
  noneLinkedMessage,
  selectApps,
  suspectedParent,
  withoutReviewApps,
  type LinkedApp,
} from '../discovery.js';
import type { DiscoveryReport, Outcome } from '../report.js';
import type { Session } from '../session.js';

/** A line every this many pages read of a long list of links. */
const PROGRESS_EVERY_PAGES = 20;
/** Review app lists read at once when telling review apps apart. */
const LISTS_AT_ONCE = 4;

export interface Found {
  discovery: DiscoveryReport;
  apps: string[];
  /** The step ends here: nothing to deploy, or nothing linked. */
  stop?: { ok: boolean; outcome: Outcome; message: string };
}

/** The list of links, this repository's among them, and the apps the event concerns (never a review app). */
export async function discover(session: Session): Promise<Found> {
  const { settings: s, log, client } = session;
  const source = s.source ?? '';
  return log.group(`Find the apps linked to ${source}`, async () => {
    const { links, pages, truncated } = await client.listLinks({
      onPage: (read, total) => {
        if (read % PROGRESS_EVERY_PAGES === 0)
          log.info(`Read ${read}${total !== undefined ? ` of ${total}` : ''} pages of links`);
      },
    });
    session.knownLinks(links);
    const { managed: linked, reviewApps } = withoutReviewApps(linkedApps(links, source));
    log.info(`${links.length} link(s) on ${pages} page(s), ${linked.length} to ${source}`);
    if (truncated)
      log.warning(
        `The list of links did not end after ${pages} pages (${links.length} links): read no further, the apps linked to ${source} may be more than these.`,
        'List of links cut short',
      );
    if (reviewApps.length)
      log.info(
        `Left out: ${reviewApps.length} review app(s) linked to it too (${following(reviewApps)}): a step never manages them`,
      );
    const select = (apps: LinkedApp[]) =>
      selectApps(apps, source, s.command, session.ctx.event, s.link.branch, session.terms);
    // Links name their app by id: only the apps chosen are named (one request each), or every linked app when none
    // is chosen, for the message that says which app follows which branch.
    let selection = select(linked);
    let named = linked;
    if (selection.kind === 'apps') {
      const chosen = await name(session, selection.apps);
      const kept = await notReviewApps(session, chosen);
      const leftOut = chosen.filter((c) => !kept.includes(c));
      named = linked
        .filter((a) => !leftOut.some((l) => l.link === a.link))
        .map((a) => kept.find((c) => c.link === a.link) ?? a);
      if (kept.length) {
        selection = { ...selection, apps: kept };
      } else {
        named = await name(session, named);
        selection = select(named);
      }
    } else if (selection.kind === 'none-selected') {
      named = await name(session, linked);
      selection = select(named);
    }
    const discovery: DiscoveryReport = {
      source,
      pages,
      links: links.length,
      linked: named.map((a) => ({ app: a.app, ...(a.link.branch ? { branch: a.link.branch } : {}) })),
    };
    if (named.length) log.info(`Linked: ${following(named)}`);
    switch (selection.kind) {
      case 'none-linked': {
        // A list cut short may hide them: that is what to say then, not that none is linked.
        const message = truncated
          ? `No app linked to ${source} on the first ${pages} pages of links (${links.length} links), where the list was cut short: set \`${session.terms.name('app')}\` to the app(s) to deploy.`
          : noneLinkedMessage(source, session.terms, await scope(session));
        return { discovery, apps: [], stop: { ok: false, outcome: 'error', message } };
      }
      case 'none-selected':
        log.info(selection.message);
        return { discovery, apps: [], stop: { ok: true, outcome: 'nothing-to-deploy', message: selection.message } };
      case 'apps':
        if (selection.branch) discovery.branch = selection.branch;
        log.info(`Chosen: ${selection.apps.map((a) => a.app).join(', ')}: ${selection.reason}`);
        return { discovery, apps: selection.apps.map((a) => a.app) };
    }
  });
}

/** Links name their app by id: the name of each is read (within the step's budget), and kept for the app's run. */
async function name(session: Session, linked: LinkedApp[]): Promise<LinkedApp[]> {
  return Promise.all(
    linked.map(async (a) => {
      if (a.named) return a;
      const app = await session.client.getApp(a.app);
      // Read once: the app's run takes it from here instead of reading it again.
      if (app.name) session.knownApps.set(app.name, app);
      return { ...a, app: app.name || a.app, named: Boolean(app.name) };
    }),
  );
}

/**
 * The chosen apps, less the review apps among them: an app named `<parent>-pr<N>` is one when its parent's review
 * app list names it (one read per parent; a parent with no link or none of that name says nothing).
 */
async function notReviewApps(session: Session, chosen: LinkedApp[]): Promise<LinkedApp[]> {
  const parents = [
    ...new Set(
      chosen.map((a) => (a.named ? suspectedParent(a.app) : undefined)).filter((p): p is string => p !== undefined),
    ),
  ];
  const lists: { parent: string; list: Awaited<ReturnType<Session['client']['listReviewApps']>> }[] = [];
  for (let i = 0; i < parents.length; i += LISTS_AT_ONCE) {
    lists.push(
      ...(await Promise.all(
        parents.slice(i, i + LISTS_AT_ONCE).map(async (parent) => {
          try {
            return { parent, list: await session.client.listReviewApps(parent) };
          } catch (err) {
            if (notFound(err) === undefined) throw err;
            return { parent, list: [] };
          }
        }),
      )),
    );
  }
  const kept: LinkedApp[] = [];
  for (const a of chosen) {
    const of = lists.find((l) => l.list.length && listsApp(l.list, a));
    if (of)
      session.log.info(
        `Left out: ${a.app} is a review app of ${of.parent} (its review app list says so): a step never manages it`,
      );
    else kept.push(a);
  }
  return kept;
}

/** "the links made by the token's user <name> in <region>": what the list of links covers, for the message. */
async function scope(session: Session): Promise<string> {
  const region = session.settings.region;
  try {
    const user = await session.client.getSelf();
    return `the links made by the token's user${user.username ? ` ${user.username}` : ''} in ${region}`;
  } catch (err) {
    session.log.debug(`token's user not read: ${String(err)}`);
    return `the links made by the token's user in ${region}`;
  }
}
