/** Reads GitLab CI's predefined variables into a CiContext. Pure. */
import type { CiContext, CiEvent } from '../../core/event.js';
import { GITLAB_TERMS } from './terms.js';

type Env = Record<string, string | undefined>;

/** Pipeline sources that deploy the pipeline's branch, besides `push`. */
const MANUAL_SOURCES = ['web', 'schedule', 'api', 'trigger'];

export function gitlabContext(env: Env): CiContext {
  const source = env.CI_PIPELINE_SOURCE ?? '';
  const ctx: CiContext = {
    platform: 'gitlab',
    terms: GITLAB_TERMS,
    eventName: source,
    event: gitlabEvent(env, source),
  };
  if (env.CI_PROJECT_URL) ctx.repositoryUrl = env.CI_PROJECT_URL;
  if (env.CI_SERVER_URL) ctx.serverUrl = env.CI_SERVER_URL.replace(/\/+$/, '');
  const runUrl = env.CI_JOB_URL ?? env.CI_PIPELINE_URL;
  if (runUrl) ctx.runUrl = runUrl;
  if (env.CI_COMMIT_SHA) ctx.sha = env.CI_COMMIT_SHA;
  return ctx;
}

function gitlabEvent(env: Env, source: string): CiEvent {
  const sha = env.CI_COMMIT_SHA;
  const withSha = <T extends object>(o: T): T => (sha ? { ...o, sha } : o);
  if (source === 'merge_request_event' || source === 'external_pull_request_event') {
    const external = source === 'external_pull_request_event';
    const iid = Number(external ? env.CI_EXTERNAL_PULL_REQUEST_IID : env.CI_MERGE_REQUEST_IID);
    if (!Number.isInteger(iid) || iid <= 0) return { kind: 'other', name: source, noPullRequestNumber: true };
    const head = external ? env.CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME : env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME;
    const base = external ? env.CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME : env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME;
    const fork =
      !external &&
      !!env.CI_MERGE_REQUEST_SOURCE_PROJECT_ID &&
      !!env.CI_MERGE_REQUEST_PROJECT_ID &&
      env.CI_MERGE_REQUEST_SOURCE_PROJECT_ID !== env.CI_MERGE_REQUEST_PROJECT_ID;
    // GitLab runs no pipeline when a merge request closes; the template's stop job says so with this variable.
    const closed = env.SCALINGO_MERGE_REQUEST_STATE === 'closed';
    const event: CiEvent = {
      kind: 'pull-request',
      action: closed ? 'close' : 'update',
      rawAction: closed ? 'closed' : (env.CI_MERGE_REQUEST_EVENT_TYPE ?? 'detached'),
      pr: { number: iid, fork },
    };
    if (head) event.pr.headBranch = head;
    if (base) event.pr.baseBranch = base;
    const projectUrl = env.CI_MERGE_REQUEST_PROJECT_URL ?? env.CI_PROJECT_URL;
    if (!external && projectUrl) event.pr.url = `${projectUrl}/-/merge_requests/${iid}`;
    if (sha) event.pr.sha = sha;
    if (!external) {
      // Comma-separated; absent when the merge request has no label.
      event.pr.labels = (env.CI_MERGE_REQUEST_LABELS ?? '')
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      event.pr.draft = env.CI_MERGE_REQUEST_DRAFT === 'true';
    }
    return event;
  }
  if (env.CI_COMMIT_TAG) return withSha({ kind: 'tag', tag: env.CI_COMMIT_TAG });
  const branch = env.CI_COMMIT_BRANCH || undefined;
  if (source === 'push') return branch ? withSha({ kind: 'push', branch }) : withSha({ kind: 'other', name: source });
  if (MANUAL_SOURCES.includes(source))
    return withSha({ kind: 'manual', trigger: source, ...(branch ? { branch } : {}) });
  return withSha({ kind: 'other', name: source || 'unknown', ...(branch ? { branch } : {}) });
}
