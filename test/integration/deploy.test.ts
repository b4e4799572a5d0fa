/**
 * Deploys as the run reports them: the commit Scalingo built (`git-ref`), a deployment only started (`wait: false`),
 * and `deploy-branch`, a branch deployed once without moving the link.
 */
import { describe, expect, it } from 'vitest';
import { renderSummary, renderText } from '../../src/core/render.js';
import { byRef, webhook } from '../support/payloads.js';
import { IN_STEP_LINK, onGitHub, writes, world } from './harness.js';

const RUN_SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const LATER_SHA = 'aaaabbbbccccddddeeeeffff0000111122223333';
const push = () => webhook('push', byRef('refs/heads/'));

describe('git-ref: the commit the deployment built', () => {
  it("is an output, in the log and the summary; no extra line when it is the run's commit", async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, branchHeads: { master: RUN_SHA } });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });
    expect(r.report.ok).toBe(true);
    expect(r.outputs['git-ref']).toBe(RUN_SHA);
    expect(r.log).toContain(`Commit built: ${RUN_SHA}`);
    expect(r.log).not.toContain("not this run's commit");
    expect(renderSummary(r.step)).toContain('| Commit built | `6113728` |');
  });

  it("says so in one line when Scalingo built another commit than the run's (the branch moved on)", async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, branchHeads: { master: LATER_SHA } });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });
    expect(r.report.ok).toBe(true);
    expect(r.outputs['git-ref']).toBe(LATER_SHA);
    const line =
      "Scalingo built aaaabbb, the branch's head, not this run's commit 6113728: the branch moved on since, or this run is older than its head.";
    expect(r.lines).toContain(line);
    expect(renderSummary(r.step).split('\n')).toContain(line);
    expect(renderText(r.step)).toContain(line);
  });
});

describe('wait: false', () => {
  it('says the deployment was started, with its status then, never that the app was deployed', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { wait: 'false' } });
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.report).toMatchObject({
      ok: true,
      outcome: 'success',
      message: `deployment ${id} of my-app started (queued), not followed`,
    });
    expect(r.outputs).toMatchObject({ 'deployment-id': id, 'deployment-status': 'queued' });
    expect(r.log).toContain(`Deployment ${id} of my-app started, queued when last seen; not followed (wait: false)`);
    expect(r.log).not.toMatch(/Deployed my-app/);
    const md = renderSummary(r.step);
    expect(md).toContain('Scalingo: my-app: deployment started (queued), not followed');
    expect(md).toContain('started, not followed; `queued`');
    expect(md).not.toMatch(/my-app deployed/);
  });
});

describe('deploy-branch', () => {
  it('command deploy: deploys that branch once; the link keeps following its own branch', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')),
      inputs: { command: 'deploy', 'deploy-branch': 'hotfix' },
    });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'hotfix' } },
    ]);
    expect(w.fake.state.links['my-app']!.branch).toBe('master');
    expect(r.report.action?.reason).toBe(
      'command is deploy: deploying branch hotfix once (the link still follows master)',
    );
  });

  it('a manual run with branch and deploy-branch: the link is set to branch, deploy-branch is deployed', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, branch: 'main' } } });
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')),
      inputs: { branch: 'master', 'deploy-branch': 'hotfix' },
    });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([
      { method: 'PATCH', path: '/v1/apps/my-app/scm_repo_link', body: { scm_repo_link: { branch: 'master' } } },
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'hotfix' } },
    ]);
    expect(w.fake.state.links['my-app']!.branch).toBe('master');
  });

  it('a push still deploys the pushed branch', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { 'deploy-branch': 'hotfix' },
    });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
  });
});
