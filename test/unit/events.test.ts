import { describe, expect, it } from 'vitest';
import { githubContext, type GitHubPayload } from '../../src/platform/github/event.js';
import { gitlabContext } from '../../src/platform/gitlab/event.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { GITLAB_TERMS } from '../../src/platform/gitlab/terms.js';
import { byAction, byRef, webhook } from '../support/payloads.js';

const GH = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'Codertocat/Hello-World',
  GITHUB_RUN_ID: '99',
  GITHUB_SHA: 'abc123',
};

describe('GitHub events (real webhook payloads)', () => {
  it('reads a branch push', () => {
    const ctx = githubContext(
      { ...GH, GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/master' },
      webhook('push', byRef('refs/heads/')) as GitHubPayload,
    );
    expect(ctx).toEqual({
      platform: 'github',
      terms: GITHUB_TERMS,
      eventName: 'push',
      serverUrl: 'https://github.com',
      event: { kind: 'push', branch: 'master', deleted: false, sha: 'abc123' },
      repositoryUrl: 'https://github.com/Codertocat/Hello-World',
      runUrl: 'https://github.com/Codertocat/Hello-World/actions/runs/99',
      sha: 'abc123',
    });
  });

  it('reads a tag push', () => {
    const ctx = githubContext(
      { ...GH, GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/simple-tag' },
      webhook('push', byRef('refs/tags/')) as GitHubPayload,
    );
    expect(ctx.event).toEqual({ kind: 'tag', tag: 'simple-tag', sha: 'abc123' });
  });

  it.each([
    ['opened', 'open'],
    ['reopened', 'open'],
    ['synchronize', 'update'],
    ['ready_for_review', 'update'],
    ['closed', 'close'],
    ['labeled', 'update'],
    ['unlabeled', 'other'],
  ])('reads pull_request %s', (action, kind) => {
    const ctx = githubContext(
      { ...GH, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/2/merge' },
      webhook('pull_request', byAction(action)) as GitHubPayload,
    );
    expect(ctx.event).toMatchObject({
      kind: 'pull-request',
      action: kind,
      rawAction: action,
      pr: { number: 2, headBranch: 'changes', baseBranch: 'master', fork: false },
    });
  });

  it('flags pull requests from forks, including deleted forks', () => {
    const payload = webhook('pull_request', byAction('opened')) as GitHubPayload & {
      pull_request: { head: { repo: unknown } };
    };
    payload.pull_request.head.repo = { full_name: 'someone/Hello-World', fork: true };
    expect(githubContext({ ...GH, GITHUB_EVENT_NAME: 'pull_request_target' }, payload).event).toMatchObject({
      pr: { fork: true },
    });
    payload.pull_request.head.repo = null;
    expect(githubContext({ ...GH, GITHUB_EVENT_NAME: 'pull_request' }, payload).event).toMatchObject({
      pr: { fork: true },
    });
  });

  it('reads workflow_dispatch and schedule as manual runs on the ref branch', () => {
    const ctx = githubContext(
      { ...GH, GITHUB_EVENT_NAME: 'workflow_dispatch', GITHUB_REF: 'refs/heads/main' },
      webhook('workflow_dispatch') as GitHubPayload,
    );
    expect(ctx.event).toEqual({ kind: 'manual', trigger: 'workflow_dispatch', branch: 'main', sha: 'abc123' });
    expect(
      githubContext({ ...GH, GITHUB_EVENT_NAME: 'schedule', GITHUB_REF: 'refs/heads/main' }, {}).event,
    ).toMatchObject({ kind: 'manual', trigger: 'schedule' });
  });

  it('treats any other event as other', () => {
    expect(githubContext({ ...GH, GITHUB_EVENT_NAME: 'release', GITHUB_REF: 'refs/tags/v1' }, {}).event).toMatchObject({
      kind: 'other',
      name: 'release',
    });
  });
});

describe('GitHub pull request events: labels, drafts, on-demand actions', () => {
  const prCtx = (
    action: string,
    edit: (p: GitHubPayload & { pull_request: Record<string, unknown> }) => void = () => {},
  ) => {
    const payload = webhook('pull_request', byAction(action)) as GitHubPayload & {
      pull_request: Record<string, unknown>;
    };
    edit(payload);
    return githubContext({ ...GH, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/2/merge' }, payload).event;
  };

  it('reads the labels and the draft state', () => {
    expect(prCtx('opened')).toMatchObject({ action: 'open', pr: { labels: [], draft: false } });
    expect(prCtx('synchronize')).toMatchObject({ action: 'update', pr: { labels: ['bug'], draft: false } });
    expect(prCtx('converted_to_draft')).toMatchObject({ action: 'other', pr: { draft: true } });
  });

  it('counts `labeled` (with the label it added) and `ready_for_review` as updates', () => {
    expect(prCtx('labeled')).toMatchObject({ action: 'update', rawAction: 'labeled', label: 'bug' });
    expect(prCtx('ready_for_review')).toMatchObject({ action: 'update', rawAction: 'ready_for_review' });
    expect(prCtx('unlabeled')).toMatchObject({ action: 'other' });
    expect(prCtx('unlabeled')).not.toHaveProperty('label');
  });

  it('flags a pull request event whose payload has no number', () => {
    expect(
      prCtx('opened', (p) => {
        delete p.number;
        delete p.pull_request.number;
      }),
    ).toEqual({ kind: 'other', name: 'pull_request', noPullRequestNumber: true });
  });
});

describe('GitLab predefined variables', () => {
  const GL = {
    GITLAB_CI: 'true',
    CI_PROJECT_URL: 'https://gitlab.example.com/group/project',
    CI_SERVER_URL: 'https://gitlab.example.com',
    CI_COMMIT_SHA: 'def456',
    CI_JOB_URL: 'https://gitlab.example.com/group/project/-/jobs/1',
  };

  it.each(['push'])('deploys the branch of a %s pipeline', (source) => {
    expect(gitlabContext({ ...GL, CI_PIPELINE_SOURCE: source, CI_COMMIT_BRANCH: 'main' })).toEqual({
      platform: 'gitlab',
      terms: GITLAB_TERMS,
      eventName: source,
      event: { kind: 'push', branch: 'main', sha: 'def456' },
      repositoryUrl: GL.CI_PROJECT_URL,
      serverUrl: GL.CI_SERVER_URL,
      runUrl: GL.CI_JOB_URL,
      sha: 'def456',
    });
  });

  it.each(['web', 'schedule', 'api', 'trigger'])('reads a %s pipeline as a manual run of its branch', (source) => {
    expect(gitlabContext({ ...GL, CI_PIPELINE_SOURCE: source, CI_COMMIT_BRANCH: 'main' }).event).toEqual({
      kind: 'manual',
      trigger: source,
      branch: 'main',
      sha: 'def456',
    });
  });

  it('reads merge request pipelines, forks included', () => {
    const env = {
      ...GL,
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '42',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
      CI_MERGE_REQUEST_PROJECT_ID: '1',
      CI_MERGE_REQUEST_SOURCE_PROJECT_ID: '1',
      CI_MERGE_REQUEST_TITLE: 'Add x',
    };
    expect(gitlabContext(env).event).toEqual({
      kind: 'pull-request',
      action: 'update',
      rawAction: 'detached',
      pr: {
        number: 42,
        headBranch: 'feature',
        baseBranch: 'main',
        fork: false,
        url: 'https://gitlab.example.com/group/project/-/merge_requests/42',
        sha: 'def456',
        labels: [],
        draft: false,
      },
    });
    expect(gitlabContext({ ...env, CI_MERGE_REQUEST_SOURCE_PROJECT_ID: '2' }).event).toMatchObject({
      pr: { fork: true },
    });
    expect(gitlabContext({ ...env, SCALINGO_MERGE_REQUEST_STATE: 'closed' }).event).toMatchObject({
      action: 'close',
      rawAction: 'closed',
    });
  });

  it("reads the merge request's labels and draft state, and flags a merge request pipeline with no IID", () => {
    const env = {
      ...GL,
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '42',
      CI_MERGE_REQUEST_LABELS: 'bug, review-app,ui',
      CI_MERGE_REQUEST_DRAFT: 'true',
    };
    expect(gitlabContext(env).event).toMatchObject({ pr: { labels: ['bug', 'review-app', 'ui'], draft: true } });
    expect(gitlabContext({ ...env, CI_MERGE_REQUEST_IID: '' }).event).toEqual({
      kind: 'other',
      name: 'merge_request_event',
      noPullRequestNumber: true,
    });
  });

  it('deploys nothing for tag pipelines', () => {
    expect(gitlabContext({ ...GL, CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: 'v1.0' }).event).toEqual({
      kind: 'tag',
      tag: 'v1.0',
      sha: 'def456',
    });
  });
});
