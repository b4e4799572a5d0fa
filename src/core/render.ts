/** How a run reads to people: the job summary (Markdown or plain text) and the pull request comment. Pure. */
import { assertNever } from './errors.js';
import { formatDuration } from './log.js';
import type { DeploymentInfo, RunReport } from './report.js';
import type { DiscoveryReport, StepReport } from './many.js';

const ICONS: Record<RunReport['outcome'], string> = {
  success: '✅',
  failed: '❌',
  'timed-out': '⏱️',
  cancelled: '🛑',
  skipped: '⏭️',
  'nothing-to-deploy': '➖',
  'dry-run': '🔍',
  error: '❌',
};

function headline(r: RunReport): string {
  const target = r.reviewApp ?? r.app ?? r.settingsApp;
  switch (r.outcome) {
    case 'success':
      if (r.deployment?.followed === false) return `${target}: deployment started (${r.deployment.status}), not followed`;
      return r.deployment ? `${target} deployed` : `${target}: done`;
    case 'failed':
      return `${target}: deployment failed`;
    case 'timed-out':
      return `${target}: deployment timed out`;
    case 'cancelled':
      return `${target}: cancelled`;
    case 'skipped':
      return `${target}: skipped`;
    case 'nothing-to-deploy':
      return `${target}: nothing deployed`;
    case 'dry-run':
      return `${target}: dry run`;
    case 'error':
      return `${target}: failed`;
    default:
      return assertNever(r.outcome);
  }
}

function shortSha(sha: string | undefined): string | undefined {
  return sha ? sha.slice(0, 7) : undefined;
}

/**
 * One line when the deployment builds another commit than the run's: Scalingo deploys the branch's head, which moved
 * on since the run started, or was already ahead of it. Undefined when they match or either is unknown.
 */
export function commitMismatch(d: Pick<DeploymentInfo, 'gitRef' | 'runCommit'>): string | undefined {
  if (!d.gitRef || !d.runCommit) return undefined;
  const [a, b] = [d.gitRef.toLowerCase(), d.runCommit.toLowerCase()];
  if (a.startsWith(b) || b.startsWith(a)) return undefined;
  return `Scalingo built ${shortSha(d.gitRef)}, the branch's head, not this run's commit ${shortSha(d.runCommit)}: the branch moved on since, or this run is older than its head.`;
}

function linkLine(r: RunReport, code: (s: string) => string): string | undefined {
  if (!r.link) return undefined;
  const changes = r.link.changes.map((c) => `${code(c.field)} ${c.from === undefined ? '' : `${code(String(c.from))} → `}${code(String(c.to))}`);
  return changes.length ? `${r.link.result}: ${changes.join(', ')}` : r.link.result;
}

function deploymentLine(r: RunReport, code: (s: string) => string): string | undefined {
  const d = r.deployment;
  if (!d) return undefined;
  const took = d.endedAt !== undefined ? ` in ${formatDuration(d.endedAt - d.startedAt)}` : '';
  const started = d.followed === false ? 'started, not followed; ' : '';
  return `${started}${code(d.status)}${took} (${code(d.id)})`;
}

/** Rows shared by the Markdown and text renderings: label, value. */
function rows(r: RunReport, code: (s: string) => string, link: (text: string, url: string) => string): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value) out.push([label, value]);
  };
  add('App', `${code(r.settingsApp)} (${r.region})`);
  if (r.reviewApp) add('Review app', `${code(r.reviewApp)}${r.pullRequest ? ` for ${r.pullRequest.url ? link(`#${r.pullRequest.number}`, r.pullRequest.url) : `#${r.pullRequest.number}`}` : ''}`);
  add('Event', r.event);
  const sha = shortSha(r.pullRequest?.sha ?? r.sha);
  if (r.branch) add('Branch', `${code(r.branch)}${sha ? ` at ${code(sha)}` : ''}`);
  else if (sha) add('Commit', code(sha));
  add('Link', linkLine(r, code));
  add('Deployment', deploymentLine(r, code));
  if (r.deployment?.gitRef) add('Commit built', code(shortSha(r.deployment.gitRef) ?? ''));
  if (r.appUrl) add('URL', link(r.appUrl, r.appUrl));
  if (r.dashboardUrl) add('Dashboard', link(r.deployment ? 'deployment' : 'app', r.dashboardUrl));
  add('API requests', String(r.requests));
  return out;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(r: RunReport): string {
  const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;
  const link = (text: string, url: string): string => `[${text}](${url})`;
  const lines = [`### ${ICONS[r.outcome]} Scalingo: ${headline(r)}`, '', '| | |', '| --- | --- |'];
  for (const [label, value] of rows(r, code, link)) lines.push(`| ${label} | ${escapeCell(value)} |`);
  lines.push('');
  if (r.message && r.outcome !== 'success') lines.push(`> ${escapeCell(r.message)}`, '');
  const mismatch = r.deployment ? commitMismatch(r.deployment) : undefined;
  if (mismatch) lines.push(mismatch, '');
  for (const w of r.warnings) lines.push(`> [!WARNING]`, `> ${escapeCell(w)}`, '');
  for (const n of r.notes) if (n !== r.message) lines.push(`${n}`, '');
  if (r.outcome === 'failed' && r.deployment?.outputTail) {
    lines.push('<details><summary>End of the build output</summary>', '', '```text', r.deployment.outputTail, '```', '', '</details>', '');
  }
  return `${lines.join('\n')}`;
}

/** `message: false` leaves the one-line message out, for a face that prints it on its own (the command line's stderr). */
export function renderText(r: RunReport, opts: { message: boolean } = { message: true }): string {
  const out = rows(r, (s) => s, (text, url) => (text === url ? url : `${url}`));
  const width = Math.max(...out.map(([label]) => label.length));
  const lines = [`${ICONS[r.outcome]} Scalingo: ${headline(r)}`];
  for (const [label, value] of out) lines.push(`  ${label.padEnd(width)}  ${value}`);
  if (opts.message && r.message && r.outcome !== 'success') lines.push(`  ${r.message}`);
  const mismatch = r.deployment ? commitMismatch(r.deployment) : undefined;
  if (mismatch) lines.push(`  ${mismatch}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** The hidden marker that finds this app's comment again on the next run. */
export function commentMarker(app: string): string {
  return `<!-- scalingo-deploy:${app} -->`;
}

export interface CommentState {
  app: string;
  reviewApp?: string;
  status: string;
  appUrl?: string;
  dashboardUrl?: string;
  sha?: string;
  /** The commit the deployment built, when known: shown instead of `sha`, with a line when they differ. */
  gitRef?: string;
  note?: string;
  runUrl?: string;
}

const STATUS_LABELS: Record<string, string> = {
  queued: '⏳ queued',
  building: '🏗️ building',
  pushing: '📦 pushing',
  starting: '🚀 starting',
  success: '✅ deployed',
  closed: '🗑️ closed',
};

function commentCommit(s: CommentState): string {
  const sha = s.gitRef ?? s.sha;
  return sha ? `\`${sha.slice(0, 7)}\`` : '-';
}

export function renderComment(s: CommentState): string {
  const status = STATUS_LABELS[s.status] ?? `❌ ${s.status}`;
  const lines = [
    commentMarker(s.app),
    `### Scalingo review app of \`${s.app}\``,
    '',
    '| Review app | Status | URL | Commit |',
    '| --- | --- | --- | --- |',
    `| ${s.reviewApp ? `\`${s.reviewApp}\`` : '-'} | ${status} | ${s.appUrl ?? '-'} | ${commentCommit(s)} |`,
    '',
  ];
  const mismatch = commitMismatch({ gitRef: s.gitRef, runCommit: s.sha });
  if (mismatch) lines.push(mismatch, '');
  if (s.note) lines.push(s.note, '');
  const links = [s.dashboardUrl ? `[Scalingo dashboard](${s.dashboardUrl})` : undefined, s.runUrl ? `[CI run](${s.runUrl})` : undefined].filter(Boolean);
  if (links.length) lines.push(links.join(' · '));
  return lines.join('\n');
}

/** A step's summary: one app's as it always was; several apps, or apps found through their links, a row per app. */
export function renderStepMarkdown(step: StepReport): string {
  const only = step.runs.length === 1 && !step.discovery ? step.runs[0] : undefined;
  if (only) return renderMarkdown(only);
  const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;
  const lines = [`### ${ICONS[step.outcome]} Scalingo: ${stepHeadline(step)}`, ''];
  if (step.discovery) lines.push(discoveryLine(step.discovery, code), '');
  if (step.runs.length) {
    lines.push('| App | Outcome | Review app | Deployment | URL | Dashboard |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of step.runs) {
      const cells = [
        `${code(r.settingsApp)}`,
        `${ICONS[r.outcome]} ${r.outcome}`,
        r.reviewApp ? code(r.reviewApp) : '-',
        deploymentLine(r, code) ?? '-',
        r.appUrl ? `[${r.appUrl}](${r.appUrl})` : '-',
        r.dashboardUrl ? `[${r.deployment ? 'deployment' : 'app'}](${r.dashboardUrl})` : '-',
      ];
      lines.push(`| ${cells.map(escapeCell).join(' | ')} |`);
    }
    lines.push('');
  }
  if (!step.runs.length && step.message) lines.push(`> ${escapeCell(step.message)}`, '');
  for (const r of step.runs) {
    if (r.message && r.outcome !== 'success') lines.push(`> ${code(r.settingsApp)}: ${escapeCell(r.message)}`, '');
    for (const w of r.warnings) lines.push('> [!WARNING]', `> ${code(r.settingsApp)}: ${escapeCell(w)}`, '');
    if (r.outcome === 'failed' && r.deployment?.outputTail) {
      lines.push(`<details><summary>End of the build output of ${r.settingsApp}</summary>`, '', '```text', r.deployment.outputTail, '```', '', '</details>', '');
    }
  }
  lines.push(`API requests: ${step.requests} (${formatDuration(step.durationMs)})`, '');
  return lines.join('\n');
}

/** The command line's report of a step: one app's as it always was, else a line per app. */
export function renderStepText(step: StepReport, opts: { message: boolean } = { message: true }): string {
  const only = step.runs.length === 1 && !step.discovery ? step.runs[0] : undefined;
  if (only) return renderText(only, opts);
  const lines = [`${ICONS[step.outcome]} Scalingo: ${stepHeadline(step)}`];
  if (step.discovery) lines.push(`  ${discoveryLine(step.discovery, (s) => s)}`);
  for (const r of step.runs) {
    const d = r.deployment ? ` ${r.deployment.status} (${r.deployment.id})` : '';
    lines.push(`  ${ICONS[r.outcome]} ${r.settingsApp}${r.reviewApp ? ` -> ${r.reviewApp}` : ''}: ${r.outcome}${d}${r.appUrl ? ` ${r.appUrl}` : ''}`);
    if (r.message && r.outcome !== 'success') lines.push(`      ${r.message}`);
    for (const w of r.warnings) lines.push(`      warning: ${w}`);
  }
  if (opts.message && !step.runs.length && step.message) lines.push(`  ${step.message}`);
  lines.push(`  API requests: ${step.requests}`);
  return lines.join('\n');
}

function stepHeadline(step: StepReport): string {
  const n = step.runs.length;
  if (n === 0) return step.ok ? 'no app to deploy' : 'no app deployed';
  const failed = step.runs.filter((r) => !r.ok).length;
  if (failed) return `${failed} of ${n} apps failed`;
  return step.outcome === 'success' ? `${n} app(s) done` : `${n} app(s): ${step.outcome}`;
}

function discoveryLine(d: DiscoveryReport, code: (s: string) => string): string {
  const linked = d.linked.map((l) => `${code(l.app)} (${l.branch ?? '?'})`).join(', ') || 'none';
  return `Apps linked to ${d.source}: ${linked}${d.branch ? `; chosen by branch ${code(d.branch)}` : ''} (${d.links} link(s) read on ${d.pages} page(s))`;
}

/** The hidden marker of the one comment that lists the review apps of a step of several apps. */
export function stepCommentMarker(apps: readonly string[]): string {
  return commentMarker(apps.length ? [...apps].sort().join(',') : '*');
}

/** One comment for the review apps of a step of several apps: a row per app. */
export function renderStepComment(marker: string, states: readonly CommentState[], runUrl?: string): string {
  const lines = [marker, '### Scalingo review apps', '', '| App | Review app | Status | URL | Commit |', '| --- | --- | --- | --- | --- |'];
  for (const s of states) {
    const status = STATUS_LABELS[s.status] ?? `❌ ${s.status}`;
    const dash = s.dashboardUrl ? ` ([dashboard](${s.dashboardUrl}))` : '';
    lines.push(`| \`${s.app}\` | ${s.reviewApp ? `\`${s.reviewApp}\`` : '-'}${dash} | ${status} | ${s.appUrl ?? '-'} | ${s.sha ? `\`${s.sha.slice(0, 7)}\`` : '-'} |`);
  }
  lines.push('');
  for (const s of states) if (s.note) lines.push(`\`${s.app}\`: ${escapeCell(s.note)}`, '');
  if (runUrl) lines.push(`[CI run](${runUrl})`);
  return lines.join('\n');
}
