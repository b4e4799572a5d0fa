/** What triggered the pipeline, in terms the core understands, whatever the CI, and the CI's own words. */
import { assertNever } from './errors.js';
import type { InputNames } from './inputs.js';

export interface PullRequestInfo {
  number: number;
  /** The pull request's source branch (its head). */
  headBranch?: string;
  /** The branch it targets. */
  baseBranch?: string;
  /** Opened from a fork: the fork's workflows get no secrets. */
  fork: boolean;
  url?: string;
  sha?: string;
  /** Its labels, when the CI says (GitHub's payload, GitLab's CI_MERGE_REQUEST_LABELS). */
  labels?: string[];
  /** A draft, when the CI says. */
  draft?: boolean;
}

export type PullRequestAction = 'open' | 'update' | 'close' | 'other';

export type CiEvent =
  | { kind: 'push'; branch: string; sha?: string; deleted?: boolean }
  | { kind: 'tag'; tag: string; sha?: string }
  | {
      kind: 'pull-request';
      action: PullRequestAction;
      rawAction: string;
      pr: PullRequestInfo;
      /** The label this event added (GitHub's `labeled`). */ label?: string;
    }
  /** A run started by hand or on a schedule: deploys `branch` or the ref's branch. */
  | { kind: 'manual'; trigger: string; branch?: string; tag?: string; sha?: string }
  | {
      kind: 'other';
      name: string;
      branch?: string;
      sha?: string;
      /** A pull request event that names no pull request. */ noPullRequestNumber?: boolean;
    }
  /** No CI around us: only an explicit command can run. */
  | { kind: 'none' };

/**
 * The words of the CI and of the face that runs the core: the core never asks which platform it runs on, it says
 * things the way its context says them.
 */
export interface Terms extends InputNames {
  /** The CI's name, as in "GitLab gives no secrets to pipelines of forks". */
  platformName: string;
  /** The CI's name for a pull request, with its reference when given: "pull request #7", "merge request !7". */
  pr(number?: number): string;
  /** The reference alone: "#7", "!7". */
  prRef(number: number): string;
  /** Where to set the API token, after "set": "the SCALINGO_API_TOKEN environment variable (...)". */
  secretsHint: string;
}

export interface CiContext {
  /** Which CI read the context (for the User-Agent and debug lines; the core never branches on it). */
  platform: 'github' | 'gitlab' | 'local';
  terms: Terms;
  /** The event's own name, as the CI says it (`push`, `pull_request`, `merge_request_event`, ...). */
  eventName: string;
  event: CiEvent;
  /** This pipeline's repository web URL, the default `source`. */
  repositoryUrl?: string;
  /** The SCM server's web root (`https://github.com`, `$CI_SERVER_URL`), used to find the SCM integration. */
  serverUrl?: string;
  /** The pipeline run's web page, for log links. */
  runUrl?: string;
  /** Commit SHA of the run. */
  sha?: string;
}

export function describeEvent(ctx: CiContext): string {
  const e = ctx.event;
  switch (e.kind) {
    case 'push':
      return `push to branch ${e.branch}`;
    case 'tag':
      return `push of tag ${e.tag}`;
    case 'pull-request':
      return `${ctx.eventName} ${e.rawAction} ${ctx.terms.prRef(e.pr.number)}${e.pr.headBranch ? ` (${e.pr.headBranch})` : ''}`;
    case 'manual':
      return `${e.trigger}${e.branch ? ` on branch ${e.branch}` : e.tag ? ` on tag ${e.tag}` : ''}`;
    case 'other':
      return `${e.name}${e.branch ? ` on branch ${e.branch}` : ''}`;
    case 'none':
      return 'no CI event';
    default:
      return assertNever(e);
  }
}
