/**
 * A randomized fault campaign: many runs in-process against the fake Scalingo, each with random faults on random
 * requests (a seeded PRNG, so that a failing run can be replayed), bounded in time. Push runs deploy the app; review
 * app runs deploy pull request #2's review app, new (opened: manual_review_app, its link's PATCH, manual_deploy on
 * it) or existing (synchronize). A new review app is made as Scalingo makes them, in random modes: its creation
 * takes a while or not, its checks pending (Scalingo holds its first deployment) or passed (Scalingo starts it when the
 * creation ends, at once or a little later). Whatever the faults, a run: sends at most one deployment per app (a
 * second, after a lost answer, only when it says so in one line); never says nothing of a deployment Scalingo started
 * by itself besides the one it follows; its outputs name a deployment it started or adopted, never another; its
 * verdict matches the deployment's final status; it ends within a few seconds of its deadline.
 */
import { describe, expect, it } from 'vitest';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { IN_STEP_LINK, onGitHub, world, type FakeOptions, type World } from './harness.js';

type FaultRule = NonNullable<FakeOptions['faults']>[number];

/** Another campaign: FAULT_SEED=<n>. */
const SEED = Number(process.env.FAULT_SEED) || 20_261_202;
const PUSH_RUNS = 40;
const REVIEW_RUNS = 30;
const RUNS = PUSH_RUNS + REVIEW_RUNS;
const AT_ONCE = 12;
const DEADLINE_MS = 6000;
/** How long after its deadline a run may end: a last look gets 2 s, a cancelled request a moment to settle. */
const SLACK_MS = 4000;
const DEPLOY = '/v1/apps/my-app/scm_repo_link/manual_deploy';
const REVIEW_APP = 'my-app-pr2';
const RA_DEPLOY = `/v1/apps/${REVIEW_APP}/scm_repo_link/manual_deploy`;
/**
 * The backoff of the retries, twenty times shorter than the product's (same growth, same number of attempts, a 429
 * without Retry-After still backs off until its budget is spent), so that a run waits on its faults, not on backoff.
 */
const QUICK_RETRY = {
  baseDelayMs: 25,
  maxDelayMs: 400,
  rateLimitBaseDelayMs: 100,
  rateLimitMaxDelayMs: 800,
  rateLimitBudgetMs: 3250,
};

/** mulberry32: small, fast, good enough to spread faults; the same seed gives the same campaign. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const TARGETS: Pick<FaultRule, 'service' | 'method' | 'path'>[] = [
  { service: 'auth', method: 'POST', path: '/v1/tokens/exchange' },
  { service: 'api', method: 'GET', path: '/v1/apps/my-app/scm_repo_link' },
  { service: 'api', method: 'GET', path: '/v1/apps/my-app' },
  // The newest deployment read before the trigger, and the look for a deploy's effect.
  { service: 'api', method: 'GET', path: '/v1/apps/my-app/deployments' },
  { service: 'api', method: 'POST', path: DEPLOY },
  { service: 'api', method: 'POST', path: DEPLOY },
  { service: 'api', method: 'POST', path: DEPLOY },
  { service: 'api', method: 'GET', path: /^\/v1\/apps\/my-app\/deployments\/[^/]+$/ },
];

/** The review app flow's requests: its writes weigh more, as the deploy does above. */
const REVIEW_TARGETS: Pick<FaultRule, 'service' | 'method' | 'path'>[] = [
  { service: 'auth', method: 'POST', path: '/v1/tokens/exchange' },
  { service: 'api', method: 'GET', path: '/v1/apps/my-app/scm_repo_link' },
  { service: 'api', method: 'GET', path: '/v1/apps/my-app/scm_repo_link/review_apps' },
  { service: 'api', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app' },
  { service: 'api', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app' },
  // The review app's own link: read, then its auto-deploy set.
  { service: 'api', method: 'GET', path: `/v1/apps/${REVIEW_APP}/scm_repo_link` },
  { service: 'api', method: 'PATCH', path: `/v1/apps/${REVIEW_APP}/scm_repo_link` },
  { service: 'api', method: 'PATCH', path: `/v1/apps/${REVIEW_APP}/scm_repo_link` },
  // The look for a deployment it started by itself, its newest deployment, and the look for a deploy's effect.
  { service: 'api', method: 'GET', path: `/v1/apps/${REVIEW_APP}/deployments` },
  { service: 'api', method: 'POST', path: RA_DEPLOY },
  { service: 'api', method: 'POST', path: RA_DEPLOY },
  { service: 'api', method: 'POST', path: RA_DEPLOY },
  { service: 'api', method: 'GET', path: new RegExp(`^/v1/apps/${REVIEW_APP}/deployments/[^/]+$`) },
];

/** A synchronize run creates no review app: its faults go to the requests it makes. */
const SYNCHRONIZE_TARGETS = REVIEW_TARGETS.filter((t) => !String(t.path).endsWith('/manual_review_app'));

function randomFault(
  rand: () => number,
  targets: readonly Pick<FaultRule, 'service' | 'method' | 'path'>[],
): FaultRule {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const target = pick(targets);
  const times = 1 + Math.floor(rand() * 3);
  const after = Math.floor(rand() * 3);
  const kinds: (() => FaultRule)[] = [
    () => ({ kind: 'status', status: pick([500, 502, 503]) }) as FaultRule,
    () => ({ kind: 'html' }) as FaultRule,
    () => ({ kind: 'reset-before' }) as FaultRule,
    () => ({ kind: 'reset-after' }) as FaultRule,
    () => ({ kind: 'cut-body' }) as FaultRule,
    () => ({ kind: 'malformed-json' }) as FaultRule,
    () => ({ kind: 'rate-limit', ...(rand() < 0.7 ? { retryAfter: 0 } : {}) }) as FaultRule,
    // Slower than the 1 s request timeout, but processed before the looks after a timeout are over.
    () => ({ kind: 'delay', ms: 200 + Math.floor(rand() * 1300) }) as FaultRule,
    () => ({ kind: 'hang-after' }) as FaultRule,
  ];
  return { ...pick(kinds)(), ...target, times, after };
}

type Flow = 'push' | 'review-opened' | 'review-synchronize';

interface Case {
  n: number;
  flow: Flow;
  faults: FaultRule[];
  script: string[];
  seeded: boolean;
  /** A new review app: its commit's checks passed already, so it may start its first deployment by itself. */
  checksPassed: boolean;
  /** A new review app: how long Scalingo takes to create it, and to show the first deployment it decided. */
  creationMs: number;
  firstDeploymentDelayMs: number;
  /** An existing review app: its own link's auto-deploy before the run. */
  autoDeploy: boolean;
}

function campaign(): Case[] {
  const rand = prng(SEED);
  return Array.from({ length: RUNS }, (_, n) => {
    const flow: Flow = n < PUSH_RUNS ? 'push' : rand() < 0.5 ? 'review-opened' : 'review-synchronize';
    return {
      n,
      flow,
      faults: Array.from({ length: 1 + Math.floor(rand() * 4) }, () =>
        randomFault(
          rand,
          { push: TARGETS, 'review-opened': REVIEW_TARGETS, 'review-synchronize': SYNCHRONIZE_TARGETS }[flow],
        ),
      ),
      script: rand() < 0.2 ? ['queued', 'building', 'build-error'] : ['queued', 'building', 'success'],
      seeded: rand() < 0.5,
      checksPassed: rand() < 0.4,
      autoDeploy: rand() < 0.5,
      creationMs: rand() < 0.4 ? Math.floor(rand() * 800) : 0,
      firstDeploymentDelayMs: rand() < 0.5 ? Math.floor(rand() * 400) : 0,
    };
  });
}

/** The fake world of a case: the app linked as the step wants it; for review apps, pull request #2 on `changes`. */
function worldOf(c: Case): FakeOptions {
  const base = { links: { 'my-app': IN_STEP_LINK }, deployScript: c.script, faults: c.faults };
  // Past deployments, the newest a failure: never to be adopted as the run's.
  const past = [{ status: 'success' }, { status: 'build-error' }];
  switch (c.flow) {
    case 'push':
      return { ...base, ...(c.seeded ? { deployments: { 'my-app': past } } : {}) };
    case 'review-opened':
      return {
        ...base,
        pulls: { 2: { head_branch: 'changes' } },
        reviewAppCreationMs: c.creationMs,
        ...(c.checksPassed ? { reviewAppChecks: 'passed', reviewAppDeploymentDelayMs: c.firstDeploymentDelayMs } : {}),
      };
    case 'review-synchronize':
      return {
        ...base,
        pulls: { 2: { head_branch: 'changes' } },
        reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: c.autoDeploy }],
        ...(c.seeded ? { deployments: { [REVIEW_APP]: past } } : {}),
      };
  }
}

function ctxOf(c: Case): Parameters<World['run']>[0]['ctx'] {
  if (c.flow === 'push') return onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/')));
  const action = c.flow === 'review-opened' ? 'opened' : 'synchronize';
  return onGitHub('pull_request', 'refs/pull/2/merge', webhook('pull_request', byAction(action)));
}

async function runCase(c: Case): Promise<string[]> {
  const w = await world(worldOf(c));
  const started = Date.now();
  const r = await w.run({
    ctx: ctxOf(c),
    inputs: {
      'timeout-minutes': String(DEADLINE_MS / 60_000),
      'request-timeout-seconds': '1',
      'poll-interval-seconds': '0.05',
    },
    deps: { retry: QUICK_RETRY },
  });
  const took = Date.now() - started;
  const created = w.fake.deploymentsCreated();
  const target = c.flow === 'push' ? 'my-app' : REVIEW_APP;
  const id = r.outputs['deployment-id'];
  const status = r.outputs['deployment-status'];
  const broken: string[] = [];
  // What the run sent, apart from what Scalingo started by itself (a new review app's first deployment).
  const sent = created.filter((d) => d.trigger !== 'review_app');
  const itsOwn = created.filter((d) => d.trigger === 'review_app');
  const said = r.warnings.filter((w) => w.startsWith('Second deployment::'));
  const perApp = new Map<string, number>();
  for (const d of sent) perApp.set(d.app, (perApp.get(d.app) ?? 0) + 1);
  for (const [app, count] of perApp)
    if (count > 1 && said.length === 0) broken.push(`${count} deployments sent to ${app}, and not a word`);
  const elsewhere = created.filter((d) => d.app !== target);
  if (elsewhere.length > 0)
    broken.push(`deployments started on ${elsewhere.map((d) => d.app).join(', ')}, not only on ${target}`);
  const followed = created.find((d) => d.id === id);
  if (id !== '' && !followed) broken.push(`outputs name deployment ${id}, which no one started`);
  // Scalingo's own first deployment besides the one followed, there when the run last looked: the run says so.
  const lastLook =
    w.fake.requests.filter((q) => q.path.startsWith(`/v1/apps/${REVIEW_APP}/deployments?`) && q.status === 200).at(-1)
      ?.at ?? 0;
  const unsaid = itsOwn.filter((d) => d.id !== id && d.createdAt < lastLook);
  if (unsaid.length > 0 && said.length === 0 && r.report.ok)
    broken.push(`Scalingo's own deployment ${unsaid[0]!.id} besides the one followed, and not a word`);
  const ours = followed;
  if (r.report.ok !== (status === 'success'))
    broken.push(
      `verdict ok=${r.report.ok} but deployment status "${status}" (${r.report.outcome}: ${r.report.message})`,
    );
  if (r.report.ok && ours?.status !== 'success')
    broken.push(`reported success, but the deployment is ${ours?.status ?? 'missing'}`);
  if (took > DEADLINE_MS + SLACK_MS) broken.push(`ended ${took} ms after its start (deadline ${DEADLINE_MS} ms)`);
  if (/answered 200/.test(r.report.message)) broken.push(`a 200 reported as a failure: ${r.report.message}`);
  return broken.map(
    (b) =>
      `run ${c.n} (${c.flow}, faults ${JSON.stringify(c.faults, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}): ${b}`,
  );
}

describe('randomized fault campaign', () => {
  it(`${RUNS} runs (${PUSH_RUNS} push, ${REVIEW_RUNS} review app) with random faults on random requests keep the invariants (seed ${SEED})`, async () => {
    const cases = campaign();
    const broken: string[][] = [];
    // AT_ONCE runs at any time: a new one starts as soon as one ends.
    let next = 0;
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          broken[c.n] = await runCase(c);
        }
      }),
    );
    expect(broken.flat()).toEqual([]);
  }, 180_000);
});
