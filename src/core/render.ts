/** How a run reads to people: the job summary (Markdown or plain text) and the pull request comment. Pure. */
import { assertNever } from './errors.js';
import { formatDuration } from './log.js';
import type { RunReport } from './report.js';

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

function linkLine(r: RunReport, code: (s: string) => string): string | undefined {
  if (!r.link) return undefined;
  const changes = r.link.changes.map((c) => `${code(c.field)} ${c.from === undefined ? '' : `${code(String(c.from))} → `}${code(String(c.to))}`);
  return changes.length ? `${r.link.result}: ${changes.join(', ')}` : r.link.result;
}

function deploymentLine(r: RunReport, code: (s: string) => string): string | undefined {
  const d = r.deployment;
  if (!d) return undefined;
  const took = d.endedAt !== undefined ? ` in ${formatDuration(d.endedAt - d.startedAt)}` : '';
  return `${code(d.status)}${took} (${code(d.id)})`;
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

export function renderComment(s: CommentState): string {
  const status = STATUS_LABELS[s.status] ?? `❌ ${s.status}`;
  const lines = [
    commentMarker(s.app),
    `### Scalingo review app of \`${s.app}\``,
    '',
    '| Review app | Status | URL | Commit |',
    '| --- | --- | --- | --- |',
    `| ${s.reviewApp ? `\`${s.reviewApp}\`` : '-'} | ${status} | ${s.appUrl ?? '-'} | ${s.sha ? `\`${s.sha.slice(0, 7)}\`` : '-'} |`,
    '',
  ];
  if (s.note) lines.push(s.note, '');
  const links = [s.dashboardUrl ? `[Scalingo dashboard](${s.dashboardUrl})` : undefined, s.runUrl ? `[CI run](${s.runUrl})` : undefined].filter(Boolean);
  if (links.length) lines.push(links.join(' · '));
  return lines.join('\n');
}
