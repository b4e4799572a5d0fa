/** The job summary (Markdown and text) and the pull request comment, by snapshot. */
import { describe, expect, it } from 'vitest';
import { commitMismatch } from '../../src/core/plan.js';
import { fenceFor, renderComment, renderSummary, renderText, SUMMARY_MAX_BYTES } from '../../src/core/render.js';
import type { AppReport, StepReport } from '../../src/core/report.js';

/** A step of one app, as the user named it: the N = 1 layouts. */
const step = (r: AppReport): StepReport => ({
  ok: r.ok,
  outcome: r.outcome,
  message: r.message,
  event: r.event,
  region: r.region,
  dryRun: false,
  runs: [r],
  warnings: [],
  requests: r.requests,
  durationMs: r.durationMs,
});

const base: AppReport = {
  ok: true,
  outcome: 'success',
  message: 'deployment d-123 of my-app succeeded',
  parentApp: 'my-app',
  region: 'osc-fr1',
  source: 'https://github.com/octo-org/octo-repo',
  event: 'push to branch main',
  timedOut: false,
  notes: [],
  warnings: [],
  requests: 5,
  durationMs: 64_000,
  sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
};

const REPORTS: Record<string, AppReport> = {
  'push-success': {
    ...base,
    app: 'my-app',
    appUrl: 'https://my-app.osc-fr1.scalingo.io',
    branch: 'main',
    link: {
      result: 'updated',
      changes: [
        { field: 'auto_deploy_enabled', input: 'auto-deploy', from: true, to: false },
        { field: 'branch', input: 'branch', from: 'master', to: 'main' },
      ],
    },
    deployment: { app: 'my-app', id: 'd-123', status: 'success', startedAt: 1_000, endedAt: 63_000 },
    dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/d-123',
    warnings: [
      "The link's auto-deploy is on for main: Scalingo deploys this push by itself too, so it is deployed twice. Set `auto-deploy: false` to let this step deploy alone.",
    ],
  },
  'push-build-error': {
    ...base,
    ok: false,
    outcome: 'failed',
    message:
      'Deployment d-9 of my-app ended with status build-error: see the build output above and https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/d-9',
    app: 'my-app',
    branch: 'main',
    link: { result: 'unchanged', changes: [] },
    deployment: {
      app: 'my-app',
      id: 'd-9',
      status: 'build-error',
      startedAt: 0,
      endedAt: 95_000,
      outputTail: '-----> Installing dependencies\nnpm ERR! missing script: build\n !     Build failed',
    },
    dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/d-9',
  },
  'review-app': {
    ...base,
    event: 'pull_request opened #42 (feature)',
    app: 'my-app-pr42',
    reviewApp: 'my-app-pr42',
    branch: 'feature',
    pullRequest: {
      number: 42,
      fork: false,
      url: 'https://github.com/octo-org/octo-repo/pull/42',
      sha: 'abcdef0123456789',
    },
    appUrl: 'https://my-app-pr42.osc-fr1.scalingo.io',
    link: { result: 'created', changes: [{ field: 'branch', input: 'branch', from: undefined, to: 'main' }] },
    deployment: { app: 'my-app-pr42', id: 'd-42', status: 'success', startedAt: 0, endedAt: 130_000 },
    dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr42/deploy/d-42',
  },
  'dry-run': {
    ...base,
    outcome: 'dry-run',
    message: 'dry run: would deploy branch main of my-app',
    branch: 'main',
    app: 'my-app',
    link: {
      result: 'would-update',
      changes: [{ field: 'hours_before_delete_stale', input: 'hours-before-delete-stale', from: 24, to: 0 }],
    },
  },
  'timed-out': {
    ...base,
    ok: false,
    outcome: 'timed-out',
    timedOut: true,
    app: 'my-app',
    branch: 'main',
    message:
      'Deployment d-7 of my-app was still building after 15 min 00 s (timeout-minutes): it goes on on Scalingo, see https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/d-7; raise `timeout-minutes` if it needs longer.',
    deployment: { app: 'my-app', id: 'd-7', status: 'building', startedAt: 0 },
    link: { result: 'unchanged', changes: [] },
  },
  skipped: {
    ...base,
    outcome: 'skipped',
    message:
      'No Scalingo API token: pull request #3 comes from a fork, and GitHub gives no secrets to pipelines of forks. Skipped (set `fail-without-token: true` to fail instead).',
    requests: 0,
  },
};

describe('job summary', () => {
  it.each(Object.keys(REPORTS))('%s (Markdown)', async (name) => {
    await expect(renderSummary(step(REPORTS[name]!))).toMatchFileSnapshot(`snapshots/summary-${name}.md`);
  });

  it.each(Object.keys(REPORTS))('%s (text, GitLab and the command line)', async (name) => {
    await expect(renderText(step(REPORTS[name]!))).toMatchFileSnapshot(`snapshots/summary-${name}.txt`);
  });

  it('escapes table cells', () => {
    expect(renderSummary(step({ ...base, message: 'a | b', outcome: 'error', ok: false }))).toContain('> a \\| b');
  });
});

describe('pull request comment', () => {
  it.each([
    [
      'deploying',
      {
        app: 'my-app',
        reviewApp: 'my-app-pr42',
        status: 'building',
        appUrl: 'https://my-app-pr42.osc-fr1.scalingo.io',
        sha: 'abcdef0123',
        dashboardUrl: 'https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr42/deploy/d-42',
      },
    ],
    [
      'deployed',
      {
        app: 'my-app',
        reviewApp: 'my-app-pr42',
        status: 'success',
        appUrl: 'https://my-app-pr42.osc-fr1.scalingo.io',
        sha: 'abcdef0123',
      },
    ],
    [
      'failed',
      {
        app: 'my-app',
        reviewApp: 'my-app-pr42',
        status: 'build-error',
        note: 'Deployment d-42 of my-app-pr42 ended with status build-error: see the build output.',
      },
    ],
    [
      'closed',
      {
        app: 'my-app',
        reviewApp: 'my-app-pr42',
        status: 'closed',
        note: 'Pull request #42 is closed: Scalingo deletes review app my-app-pr42 now (delete-on-close is on).',
      },
    ],
  ] as const)('%s', async (name, state) => {
    const body = renderComment(
      ['my-app'],
      [state],
      name === 'deploying' ? 'https://github.com/octo-org/octo-repo/actions/runs/1' : undefined,
    );
    expect(body.startsWith('<!-- scalingo-deploy:my-app -->\n')).toBe(true);
    await expect(body).toMatchFileSnapshot(`snapshots/comment-${name}.md`);
  });
});

describe('the commit a deployment built', () => {
  it("one line when it is not the run's commit; nothing when it is, or when either is unknown", () => {
    expect(commitMismatch({ gitRef: 'aaaabbbbcccc', runCommit: '111122223333' })).toBe(
      "Scalingo built aaaabbb, the branch's head, not this run's commit 1111222: the branch moved on since, or this run is older than its head.",
    );
    expect(commitMismatch({ gitRef: 'aaaabbbbcccc', runCommit: 'AAAABBB' })).toBeUndefined();
    expect(commitMismatch({ gitRef: 'aaaabbbbcccc' })).toBeUndefined();
    expect(commitMismatch({ runCommit: 'aaaabbbbcccc' })).toBeUndefined();
  });

  it('the comment shows the commit built, and the line when it differs', () => {
    const body = renderComment(
      ['my-app'],
      [{ app: 'my-app', reviewApp: 'my-app-pr2', status: 'success', sha: '111122223333', gitRef: 'aaaabbbbcccc' }],
    );
    expect(body).toContain('| `aaaabbb` |');
    expect(body).toContain("not this run's commit 1111222");
  });
});

describe('build output in the summary and the comment', () => {
  const failed: AppReport = {
    ...base,
    ok: false,
    outcome: 'failed',
    message:
      'Deployment d-9 of my-app ended with status build-error: see the build output above and https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/d-9',
    app: 'my-app',
    deployment: {
      app: 'my-app',
      id: 'd-9',
      status: 'build-error',
      startedAt: 0,
      outputTail: '-----> Build\n```js\nconsole.log(1)\n```\n !     Build failed',
    },
  };

  it('is fenced with more backticks than any run in it, so that a fence of the build cannot close it', () => {
    expect(fenceFor('no backticks')).toBe('```');
    expect(fenceFor('a ```js fence```')).toBe('````');
    expect(fenceFor('`````')).toBe('``````');
    const summary = renderSummary(step(failed));
    expect(summary).toContain('````text\n-----> Build\n```js\nconsole.log(1)\n```\n !     Build failed\n````');
  });

  it("a failed build's comment shows the end of its output, above the note that points to it", () => {
    const body = renderComment(
      ['my-app'],
      [
        {
          app: 'my-app',
          reviewApp: 'my-app-pr2',
          status: 'build-error',
          note: failed.message,
          tail: failed.deployment!.outputTail!,
        },
      ],
    );
    expect(body).toContain('<details><summary>End of the build output</summary>');
    expect(body.indexOf(' !     Build failed')).toBeLessThan(body.indexOf('see the build output above'));
    const many = renderComment(
      ['back', 'front'],
      [
        { app: 'front', status: 'build-error', tail: 'line 1\nline 2' },
        { app: 'back', status: 'success' },
      ],
    );
    expect(many).toContain('<details><summary>End of the build output of front</summary>');
    expect(many.match(/<details>/g)).toHaveLength(1);
  });

  it('the comment shows the last 40 lines of a longer output', () => {
    const tail = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n');
    const body = renderComment(['my-app'], [{ app: 'my-app', status: 'build-error', tail }]);
    expect(body).toContain('line 21\n');
    expect(body).not.toContain('line 20\n');
    expect(body).toContain('line 60');
  });

  it("the summary of many failed apps with long outputs stays under GitHub's 1 MiB, saying how it was cut", () => {
    const long = Array.from({ length: 40 }, (_, i) => `${'x'.repeat(1500)} ${i}`).join('\n');
    const runs = Array.from({ length: 30 }, (_, i): AppReport => ({
      ...failed,
      parentApp: `app-${i}`,
      deployment: { ...failed.deployment!, outputTail: long },
    }));
    const many: StepReport = { ...step(runs[0]!), ok: false, outcome: 'failed', runs };
    const summary = renderSummary(many);
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(summary).toMatch(
      /The end of each failed build's output is cut to its last \d+ lines here, to keep this summary within GitHub's limit/,
    );
    // Every app keeps its row.
    for (const r of runs) expect(summary).toContain(`| \`${r.parentApp}\` |`);
  });

  it('a summary of thousands of apps is cut, and says so', () => {
    const runs = Array.from({ length: 6000 }, (_, i): AppReport => ({
      ...base,
      parentApp: `a-very-long-application-name-${i}`,
      message: 'x'.repeat(200),
      outcome: 'error',
      ok: false,
    }));
    const summary = renderSummary({ ...step(runs[0]!), ok: false, outcome: 'error', runs });
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(summary).toMatch(/Cut here to keep this summary within GitHub's limit \(6000 apps\)/);
  });
});
