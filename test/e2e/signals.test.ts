/**
 * SIGTERM and SIGINT, as a cancelled workflow or job sends them to the built action: the run stops, says what still
 * runs on Scalingo, sets the outputs it knows and fails. Cancellation at every phase is proven in-process by
 * test/integration/faults.test.ts; here, the signal handling of the bundle.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, IN_STEP_LINK, world } from './helpers.js';

checkEveryRun();

const push = () => webhook('push', byRef('refs/heads/'));

describe('signals', () => {
  it('SIGTERM while following: says which deployment still runs, sets the outputs it knows and fails', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building'] });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { 'poll-interval-seconds': '0.2' },
      kill: { signal: 'SIGTERM', when: /building \(/ },
    });
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `::error::Cancelled while following: deployment ${id} of my-app is still building on Scalingo, see https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}.`,
    );
    expect(r.outputs).toMatchObject({
      'deployment-id': id,
      'deployment-status': 'building',
      'timed-out': 'false',
      app: 'my-app',
    });
  });

  it('SIGINT while the deploy request is under way: says it may run, and where to look', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      faults: [{ kind: 'delay', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', ms: 3000 }],
    });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      kill: { signal: 'SIGINT', when: /::group::Deploy branch/ },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '::error::Cancelled after the deploy of branch master of my-app was requested, before a deployment was followed: see https://dashboard.scalingo.com/apps/osc-fr1/my-app for what runs.',
    );
  });
});
