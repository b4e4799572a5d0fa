/**
 * How a step reads to people: the job summary (Markdown, or plain text for a terminal and GitLab) and the pull
 * request comment. One family for every step; a step of one app named by the user is laid out as one app (N = 1),
 * several or found apps as a row each. Pure.
 */
import { assertNever } from './errors.js';
import { formatDuration } from './log.js';
import { commitMismatch } from './plan.js';
import { onlyApp, type AppReport, type DiscoveryReport, type Outcome, type StepReport } from './report.js';

const ICONS: Record<Outcome, string> = {
  success: '✅',
  failed: '❌',
  'timed-out': '⏱️',
  cancelled: '🛑',
  skipped: '⏭️',
  'nothing-to-deploy': '➖',
  'dry-run': '🔍',
  error: '❌',
};

/** GitHub's limit on one step's job summary is 1 MiB: the summary stays below it, with room to spare. */
export const SUMMARY_MAX_BYTES = 1000 * 1024;
/** Lines of a failed build's output the summary shows, fewer when the summary would be too large. */
const TAIL_LINES_TRIED = [40, 20, 10, 5, 0];

function headline(r: AppReport): string {
  const target = r.reviewApp ?? r.app ?? r.parentApp;
  switch (r.outcome) {
    case 'success':
      if (r.deployment?.followed === false)
        return `${target}: deployment started (${r.deployment.status}), not followed`;
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

function stepHeadline(step: StepReport): string {
  const n = step.runs.length;
  if (n === 0) return step.ok ? 'no app to deploy' : 'no app deployed';
  const failed = step.runs.filter((r) => !r.ok).length;
  if (failed) return `${failed} of ${n} apps failed`;
  return step.outcome === 'success' ? `${n} app(s) done` : `${n} app(s): ${step.outcome}`;
}

function shortSha(sha: string | undefined): string | undefined {
  return sha ? sha.slice(0, 7) : undefined;
}

function linkLine(r: AppReport, code: (s: string) => string): string | undefined {
  if (!r.link) return undefined;
  const changes = r.link.changes.map(
    (c) => `${code(c.field)} ${c.from === undefined ? '' : `${code(String(c.from))} → `}${code(String(c.to))}`,
  );
  return changes.length ? `${r.link.result}: ${changes.join(', ')}` : r.link.result;
}

function deploymentLine(r: AppReport, code: (s: string) => string): string | undefined {
  const d = r.deployment;
  if (!d) return undefined;
  const took = d.endedAt !== undefined ? ` in ${formatDuration(d.endedAt - d.startedAt)}` : '';
  const started = d.followed === false ? 'started, not followed; ' : '';
  return `${started}${code(d.status)}${took} (${code(d.id)})`;
}

/** Rows shared by the Markdown and text renderings of one app: label, value. */
function rows(
  r: AppReport,
  requests: number,
  code: (s: string) => string,
  link: (text: string, url: string) => string,
): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value) out.push([label, value]);
  };
  add('App', `${code(r.parentApp)} (${r.region})`);
  if (r.reviewApp)
    add(
      'Review app',
      `${code(r.reviewApp)}${r.pullRequest ? ` for ${r.pullRequest.url ? link(`#${r.pullRequest.number}`, r.pullRequest.url) : `#${r.pullRequest.number}`}` : ''}`,
    );
  add('Event', r.event);
  const sha = shortSha(r.pullRequest?.sha ?? r.sha);
  if (r.branch) add('Branch', `${code(r.branch)}${sha ? ` at ${code(sha)}` : ''}`);
  else if (sha) add('Commit', code(sha));
  add('Link', linkLine(r, code));
  add('Deployment', deploymentLine(r, code));
  if (r.deployment?.gitRef) add('Commit built', code(shortSha(r.deployment.gitRef) ?? ''));
  if (r.appUrl) add('URL', link(r.appUrl, r.appUrl));
  if (r.dashboardUrl) add('Dashboard', link(r.deployment ? 'deployment' : 'app', r.dashboardUrl));
  add('API requests', String(requests));
  return out;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

/** A fence longer than any run of backticks in the text, so that build output holding a fence cannot close it. */
export function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** A failed build's last `lines` lines (all of them at 40), in a collapsed block; nothing at 0. */
function tailBlock(summary: string, tail: string | undefined, lines: number): string[] {
  if (!tail || lines === 0) return [];
  const shown = tail.split('\n').slice(-lines).join('\n');
  const fence = fenceFor(shown);
  return [`<details><summary>${summary}</summary>`, '', `${fence}text`, shown, fence, '', '</details>', ''];
}

/** The job summary, in Markdown, below GitHub's 1 MiB: the build outputs' tails get shorter first, then rows go. */
export function renderSummary(step: StepReport): string {
  for (const lines of TAIL_LINES_TRIED) {
    const text = summaryWith(step, lines);
    if (Buffer.byteLength(text) > SUMMARY_MAX_BYTES) continue;
    if (lines === TAIL_LINES_TRIED[0]) return text;
    const what = lines > 0 ? `cut to its last ${lines} lines` : 'left out';
    return `${text}\n_The end of each failed build's output is ${what} here, to keep this summary within GitHub's limit: the job's log has all of it._\n`;
  }
  // Still too large without any output: as many apps' rows as fit, and a line that says so.
  const cut = Buffer.from(summaryWith(step, 0))
    .subarray(0, SUMMARY_MAX_BYTES - 300)
    .toString('utf8')
    .replace(/\n[^\n]*$/, '');
  return `${cut}\n\n_Cut here to keep this summary within GitHub's limit (${step.runs.length} apps): the job's log has every app._\n`;
}

function summaryWith(step: StepReport, tailLines: number): string {
  const only = onlyApp(step);
  // A step of one app: its requests are the step's (the token exchange included).
  if (only) return appSummary(only, step.requests, tailLines);
  const lines = [`### ${ICONS[step.outcome]} Scalingo: ${stepHeadline(step)}`, ''];
  if (step.discovery) lines.push(discoveryLine(step.discovery, code), '');
  if (step.runs.length) {
    lines.push(
      '| App | Outcome | Review app | Deployment | URL | Dashboard |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of step.runs) {
      const cells = [
        `${code(r.parentApp)}`,
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
    if (r.message && r.outcome !== 'success') lines.push(`> ${code(r.parentApp)}: ${escapeCell(r.message)}`, '');
    for (const w of r.warnings) lines.push('> [!WARNING]', `> ${code(r.parentApp)}: ${escapeCell(w)}`, '');
    if (r.outcome === 'failed')
      lines.push(...tailBlock(`End of the build output of ${r.parentApp}`, r.deployment?.outputTail, tailLines));
  }
  lines.push(`API requests: ${step.requests} (${formatDuration(step.durationMs)})`, '');
  return lines.join('\n');
}

function appSummary(r: AppReport, requests: number, tailLines: number): string {
  const link = (text: string, url: string): string => `[${text}](${url})`;
  const lines = [`### ${ICONS[r.outcome]} Scalingo: ${headline(r)}`, '', '| | |', '| --- | --- |'];
  for (const [label, value] of rows(r, requests, code, link)) lines.push(`| ${label} | ${escapeCell(value)} |`);
  lines.push('');
  if (r.message && r.outcome !== 'success') lines.push(`> ${escapeCell(r.message)}`, '');
  const mismatch = r.deployment ? commitMismatch(r.deployment) : undefined;
  if (mismatch) lines.push(mismatch, '');
  for (const w of r.warnings) lines.push(`> [!WARNING]`, `> ${escapeCell(w)}`, '');
  for (const n of r.notes) if (n !== r.message) lines.push(`${n}`, '');
  if (r.outcome === 'failed') lines.push(...tailBlock('End of the build output', r.deployment?.outputTail, tailLines));
  return `${lines.join('\n')}`;
}

/**
 * The step's report as text, for a terminal or a GitLab job log. `message: false` leaves the one-line message out,
 * for a face that prints it on its own (the command line's stderr).
 */
export function renderText(step: StepReport, opts: { message: boolean } = { message: true }): string {
  const only = onlyApp(step);
  if (only) return appText(only, step.requests, opts);
  const lines = [`${ICONS[step.outcome]} Scalingo: ${stepHeadline(step)}`];
  if (step.discovery) lines.push(`  ${discoveryLine(step.discovery, (s) => s)}`);
  for (const r of step.runs) {
    const d = r.deployment ? ` ${r.deployment.status} (${r.deployment.id})` : '';
    lines.push(
      `  ${ICONS[r.outcome]} ${r.parentApp}${r.reviewApp ? ` -> ${r.reviewApp}` : ''}: ${r.outcome}${d}${r.appUrl ? ` ${r.appUrl}` : ''}`,
    );
    if (r.message && r.outcome !== 'success') lines.push(`      ${r.message}`);
    for (const w of r.warnings) lines.push(`      warning: ${w}`);
  }
  if (opts.message && !step.runs.length && step.message) lines.push(`  ${step.message}`);
  lines.push(`  API requests: ${step.requests}`);
  return lines.join('\n');
}

function appText(r: AppReport, requests: number, opts: { message: boolean }): string {
  const out = rows(
    r,
    requests,
    (s) => s,
    (text, url) => (text === url ? url : `${url}`),
  );
  const width = Math.max(...out.map(([label]) => label.length));
  const lines = [`${ICONS[r.outcome]} Scalingo: ${headline(r)}`];
  for (const [label, value] of out) lines.push(`  ${label.padEnd(width)}  ${value}`);
  if (opts.message && r.message && r.outcome !== 'success') lines.push(`  ${r.message}`);
  const mismatch = r.deployment ? commitMismatch(r.deployment) : undefined;
  if (mismatch) lines.push(`  ${mismatch}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

function discoveryLine(d: DiscoveryReport, c: (s: string) => string): string {
  const linked = d.linked.map((l) => `${c(l.app)} (${l.branch ?? '?'})`).join(', ') || 'none';
  return `Apps linked to ${d.source}: ${linked}${d.branch ? `; chosen by branch ${c(d.branch)}` : ''} (${d.links} link(s) read on ${d.pages} page(s))`;
}

/**
 * The hidden marker that finds a step's comment again on the next run: the step's apps as given, sorted (one app:
 * its name), or `*` for apps found through the links.
 */
export function commentMarker(apps: readonly string[]): string {
  return `<!-- scalingo-deploy:${apps.length ? [...apps].sort().join(',') : '*'} -->`;
}

/** One app's line of the comment. */
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
  /** The end of a failed build's output. */
  tail?: string;
}

/** Lines of a failed build's output a comment shows. */
export const COMMENT_TAIL_LINES = 40;

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

/**
 * The pull request comment of a step: `apps`, the step's apps as given (none: found through the links). One app:
 * its review app, status, URL and commit; several: a row each. A failed build shows the end of its output.
 */
export function renderComment(apps: readonly string[], states: readonly CommentState[], runUrl?: string): string {
  const marker = commentMarker(apps);
  const single = apps.length === 1 ? states[0] : undefined;
  if (single) {
    const s = single;
    const lines = [
      marker,
      `### Scalingo review app of \`${s.app}\``,
      '',
      '| Review app | Status | URL | Commit |',
      '| --- | --- | --- | --- |',
      `| ${s.reviewApp ? `\`${s.reviewApp}\`` : '-'} | ${STATUS_LABELS[s.status] ?? `❌ ${s.status}`} | ${s.appUrl ?? '-'} | ${commentCommit(s)} |`,
      '',
    ];
    const mismatch = commitMismatch({ gitRef: s.gitRef, runCommit: s.sha });
    if (mismatch) lines.push(mismatch, '');
    // The output first: the note of a failed build points to it, above.
    lines.push(...tailBlock('End of the build output', s.tail, COMMENT_TAIL_LINES));
    if (s.note) lines.push(s.note, '');
    const links = [
      s.dashboardUrl ? `[Scalingo dashboard](${s.dashboardUrl})` : undefined,
      runUrl ? `[CI run](${runUrl})` : undefined,
    ].filter(Boolean);
    if (links.length) lines.push(links.join(' · '));
    return lines.join('\n');
  }
  const lines = [
    marker,
    '### Scalingo review apps',
    '',
    '| App | Review app | Status | URL | Commit |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of states) {
    const status = STATUS_LABELS[s.status] ?? `❌ ${s.status}`;
    const dash = s.dashboardUrl ? ` ([dashboard](${s.dashboardUrl}))` : '';
    lines.push(
      `| \`${s.app}\` | ${s.reviewApp ? `\`${s.reviewApp}\`` : '-'}${dash} | ${status} | ${s.appUrl ?? '-'} | ${s.sha ? `\`${s.sha.slice(0, 7)}\`` : '-'} |`,
    );
  }
  lines.push('');
  for (const s of states) {
    lines.push(...tailBlock(`End of the build output of ${s.app}`, s.tail, COMMENT_TAIL_LINES));
    if (s.note) lines.push(`\`${s.app}\`: ${escapeCell(s.note)}`, '');
  }
  if (runUrl) lines.push(`[CI run](${runUrl})`);
  return lines.join('\n');
}
