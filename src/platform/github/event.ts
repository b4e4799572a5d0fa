/** Reads GitHub Actions' environment and webhook payload into a CiContext. No @actions import. */
import { readFileSync } from 'node:fs';
import type { CiContext, CiEvent, PullRequestAction } from '../../core/event.js';
import { GITHUB_TERMS } from './terms.js';

type Env = Record<string, string | undefined>;

interface PullRequestPayload {
  number?: number;
  html_url?: string;
  head?: { ref?: string; sha?: string; repo?: { full_name?: string; fork?: boolean } | null };
  base?: { ref?: string; repo?: { full_name?: string } };
}

export interface GitHubPayload {
  action?: string;
  deleted?: boolean;
  after?: string;
  pull_request?: PullRequestPayload;
  number?: number;
  [key: string]: unknown;
}

const PR_ACTIONS: Record<string, PullRequestAction> = {
  opened: 'open',
  reopened: 'open',
  synchronize: 'update',
  ready_for_review: 'update',
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
  const runUrl = env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;

  const event = githubEvent(eventName, ref, sha, payload);
  const ctx: CiContext = { platform: 'github', terms: GITHUB_TERMS, eventName, event, serverUrl: server };
  if (repositoryUrl) ctx.repositoryUrl = repositoryUrl;
  if (runUrl) ctx.runUrl = runUrl;
  if (sha) ctx.sha = sha;
  return ctx;
}

/** The webhook payload the runner wrote (GITHUB_EVENT_PATH); none readable: the event name alone decides. */
export function readPayload(path: string | undefined): GitHubPayload {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as GitHubPayload;
  } catch {
    return {};
  }
}

/** The context of the running workflow, from the runner's variables and payload file. */
export function githubContextFromEnv(env: Env): CiContext {
  return githubContext(env, readPayload(env.GITHUB_EVENT_PATH));
}

function githubEvent(eventName: string, ref: string | undefined, sha: string | undefined, payload: GitHubPayload): CiEvent {
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
      if (typeof number !== 'number') return { kind: 'other', name: eventName };
      const rawAction = payload.action ?? '';
      const headRepo = pr.head?.repo;
      const baseName = pr.base?.repo?.full_name;
      // A deleted fork leaves `head.repo` null; otherwise a fork is a head repository other than the base one.
      const fork = headRepo === null || (headRepo?.full_name !== undefined && baseName !== undefined && headRepo.full_name !== baseName);
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
      return info;
    }
    case 'workflow_dispatch':
    case 'schedule':
      return withSha({ kind: 'manual', trigger: eventName, ...(branch !== undefined ? { branch } : {}), ...(tag !== undefined ? { tag } : {}) });
    default:
      return withSha({ kind: 'other', name: eventName, ...(branch !== undefined ? { branch } : {}) });
  }
}
