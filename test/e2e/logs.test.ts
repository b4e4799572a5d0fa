/**
 * The logs users read, by snapshot: GitHub's (groups per phase, one line per status, annotations) and GitLab's
 * (the same phases as collapsible sections). Ids, ports and timestamps are replaced by placeholders.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, IN_STEP_LINK, world } from './helpers.js';

checkEveryRun();

function normalise(log: string, fakeUrls: string[]): string {
  let out = log
    .split('\n')
    .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::') && !l.startsWith('debug: '))
    .join('\n');
  for (const url of fakeUrls) out = out.split(url).join('<fake>');
  return out
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<deployment-id>')
    .replace(/section_(start|end):\d+:/g, 'section_$1:<time>:');
}

describe('logs', () => {
  it('GitHub: a push that updates the link and deploys', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } },
      deployScript: ['queued', 'building', 'building', 'pushing', 'starting', 'success'],
    });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
      inputs: { 'auto-deploy': 'false' },
    });
    expect(r.code).toBe(0);
    await expect(normalise(r.stdout, [w.fake.apiUrl, w.fake.authUrl])).toMatchFileSnapshot('snapshots/github-push.log');
  });

  it('GitHub: a failed build prints the end of its output in a group', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building', 'build-error'] });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
    });
    expect(r.code).toBe(1);
    await expect(normalise(r.stdout, [w.fake.apiUrl, w.fake.authUrl])).toMatchFileSnapshot(
      'snapshots/github-build-error.log',
    );
  });

  it('GitLab: a merge request pipeline, with collapsible sections', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, source: 'https://gitlab.com/acme/shop' } },
      pulls: { 7: { head_branch: 'feature' } },
      deployScript: ['queued', 'building', 'success'],
    });
    const r = await w.cli({
      args: ['--app', 'my-app'],
      env: {
        GITLAB_CI: 'true',
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_MERGE_REQUEST_IID: '7',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
        CI_PROJECT_URL: 'https://gitlab.com/acme/shop',
        CI_SERVER_URL: 'https://gitlab.com',
        SCALINGO_POLL_INTERVAL_SECONDS: '0.05',
      },
    });
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex -- GitLab's section markers
    expect(r.stdout).toMatch(/\x1b\[0Ksection_start:\d+:scalingo_1\[collapsed=false\]\r\x1b\[0K/);
    await expect(normalise(r.stdout, [w.fake.apiUrl, w.fake.authUrl])).toMatchFileSnapshot(
      'snapshots/gitlab-merge-request.log',
    );
  });
});
