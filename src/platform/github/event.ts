/** Reads GitHub Actions' environment and webhook payload into a CiContext. No @actions import. */
import { readFileSync } from 'node:fs';
import type { CiContext, CiEvent, PullRequestAction } from '../../core/event.js';
import { GITHUB_TERMS } from './terms.js';

type Env = Record<string, string | undefined>;

interface PullRequestPayload {
  number?: number;
  html_url?: string;
  draft?: boolean;
  labels?: { name?: string }[];
  head?: { ref?: string; sha?: string; repo?: { full_name?: string; fork?: boolean } | null };
  base?: { ref?: string; repo?: { full_name?: string } };
}

export interface GitHubPayload {
  action?: string;
  deleted?: boolean;
  after?: string;
  pull_request?: PullRequestPayload;
  number?: number;
  label?: { name?: string };
  [key: string]: unknown;
}

const PR_ACTIONS: Record<string, PullRequestAction> = {
  opened: 'open',
  reopened: 'open',
  synchronize: 'update',
  ready_for_review: 'update',
  // Counts only when it adds the `review-app-label` (plan.ts decides).
  labeled: 'update',
  closed: 'close',
};

function refBranch(ref: string | undefined): string | undefined {
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}

function refTag(ref: string | undefined): string | undefined {
  return ref?.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
}

export function githubContext(env: Env, payload: GitHubPayload): CiContext {
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  const ref = env.GITHUB_REF;
  const sha = env.GITHUB_SHA;
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  const repositoryUrl = env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}` : undefined;
  const runUrl =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;

  const event = githubEvent(eventName, ref, sha, payload);
  const ctx: CiContext = { platform: 'github', terms: GITHUB_TERMS, eventName, event, serverUrl: server };
  if (repositoryUrl) ctx.repositoryUrl = repositoryUrl;
  if (runUrl) ctx.runUrl = runUrl;
  if (sha) ctx.sha = sha;
  return ctx;
}

/**
 * The webhook payload the runner wrote (GITHUB_EVENT_PATH). None readable (missing, not JSON, not an object, `null`):
 * an empty payload, the event name alone decides, and `problem` says why in one line.
 */
export function readPayload(path: string | undefined): { payload: GitHubPayload; problem?: string } {
  if (!path) return { payload: {}, problem: 'GITHUB_EVENT_PATH is not set' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { payload: {}, problem: `${path} cannot be read (${(err as { code?: string }).code ?? String(err)})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { payload: {}, problem: `${path} is not JSON` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      payload: {},
      problem: `${path} holds ${parsed === null ? 'null' : Array.isArray(parsed) ? 'a list' : `a ${typeof parsed}`}, not an event object`,
    };
  }
  return { payload: parsed as GitHubPayload };
}

/**
 * The context of the running workflow, from the runner's variables and payload file. `onProblem` hears, in one
 * line, why the payload could not be used.
 */
export function githubContextFromEnv(env: Env, onProblem?: (line: string) => void): CiContext {
  const { payload, problem } = readPayload(env.GITHUB_EVENT_PATH);
  if (problem && onProblem)
    onProblem(
      `The event payload is not usable (${problem}): deciding from the event name ${env.GITHUB_EVENT_NAME ?? '(none)'} alone.`,
    );
  return githubContext(env, payload);
}

function githubEvent(
  eventName: string,
  ref: string | undefined,
  sha: string | undefined,
  payload: GitHubPayload,
): CiEvent {
  const branch = refBranch(ref);
  const tag = refTag(ref);
  const withSha = <T extends object>(o: T): T => (sha ? { ...o, sha } : o);
  switch (eventName) {
    case 'push':
      if (tag !== undefined) return withSha({ kind: 'tag', tag });
      if (branch !== undefined) return withSha({ kind: 'push', branch, deleted: payload.deleted === true });
      return withSha({ kind: 'other', name: eventName });
    case 'pull_request':
    case 'pull_request_target': {
      const pr = payload.pull_request ?? {};
      const number = pr.number ?? payload.number;
      if (typeof number !== 'number') return { kind: 'other', name: eventName, noPullRequestNumber: true };
      const rawAction = payload.action ?? '';
      const headRepo = pr.head?.repo;
      const baseName = pr.base?.repo?.full_name;
      // A deleted fork leaves `head.repo` null; otherwise a fork is a head repository other than the base one.
      const fork =
        headRepo === null ||
        (headRepo?.full_name !== undefined && baseName !== undefined && headRepo.full_name !== baseName);
      const info: CiEvent = {
        kind: 'pull-request',
        action: PR_ACTIONS[rawAction] ?? 'other',
        rawAction,
        pr: { number, fork },
      };
      if (pr.head?.ref) info.pr.headBranch = pr.head.ref;
      if (pr.base?.ref) info.pr.baseBranch = pr.base.ref;
      if (pr.html_url) info.pr.url = pr.html_url;
      if (pr.head?.sha) info.pr.sha = pr.head.sha;
      if (Array.isArray(pr.labels))
        info.pr.labels = pr.labels.flatMap((l) => (typeof l?.name === 'string' ? [l.name] : []));
      if (typeof pr.draft === 'boolean') info.pr.draft = pr.draft;
      if (rawAction === 'labeled' && typeof payload.label?.name === 'string') info.label = payload.label.name;
      return info;
    }
    case 'workflow_dispatch':
    case 'schedule':
      return withSha({
        kind: 'manual',
        trigger: eventName,
        ...(branch !== undefined ? { branch } : {}),
        ...(tag !== undefined ? { tag } : {}),
      });
    default:
      return withSha({ kind: 'other', name: eventName, ...(branch !== undefined ? { branch } : {}) });
  }
}
