/**
 * A randomized fault campaign: many push runs in-process against the fake Scalingo, each with random faults on random
 * requests (a seeded PRNG, so that a failing run can be replayed), bounded in time. Whatever the faults, a run:
 * starts at most one deployment; its outputs name the deployment it started, never another; its verdict matches the
 * deployment's final status; it ends within a few seconds of its deadline.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { IN_STEP_LINK, onGitHub, world, type FakeOptions } from './harness.js';

type FaultRule = NonNullable<FakeOptions['faults']>[number];

/** Another campaign: FAULT_SEED=<n>. */
const SEED = Number(process.env.FAULT_SEED) || 20_261_202;
const RUNS = 60;
const AT_ONCE = 12;
const DEADLINE_MS = 6000;
/** How long after its deadline a run may end: a last look gets 2 s, a cancelled request a moment to settle. */
const SLACK_MS = 4000;
const DEPLOY = '/v1/apps/my-app/scm_repo_link/manual_deploy';
/**
 * The backoff of the retries, twenty times shorter than the product's (same growth, same number of attempts, a 429
 * without Retry-After still backs off until its budget is spent), so that a run waits on its faults, not on backoff.
 */
const QUICK_RETRY = { baseDelayMs: 25, maxDelayMs: 400, rateLimitBaseDelayMs: 100, rateLimitMaxDelayMs: 800, rateLimitBudgetMs: 3250 };

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

function randomFault(rand: () => number): FaultRule {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const target = pick(TARGETS);
  const times = 1 + Math.floor(rand() * 3);
  const after = Math.floor(rand() * 3);
  const kinds: (() => FaultRule)[] = [
    () => ({ kind: 'status', status: pick([500, 502, 503]) } as FaultRule),
    () => ({ kind: 'html' } as FaultRule),
    () => ({ kind: 'reset-before' } as FaultRule),
    () => ({ kind: 'reset-after' } as FaultRule),
    () => ({ kind: 'cut-body' } as FaultRule),
    () => ({ kind: 'malformed-json' } as FaultRule),
    () => ({ kind: 'rate-limit', ...(rand() < 0.7 ? { retryAfter: 0 } : {}) } as FaultRule),
    // Slower than the 1 s request timeout, but processed before the looks after a timeout are over.
    () => ({ kind: 'delay', ms: 200 + Math.floor(rand() * 1300) } as FaultRule),
    () => ({ kind: 'hang-after' } as FaultRule),
  ];
  return { ...pick(kinds)(), ...target, times, after };
}

interface Case {
  n: number;
  faults: FaultRule[];
  script: string[];
  seeded: boolean;
}

function campaign(): Case[] {
  const rand = prng(SEED);
  return Array.from({ length: RUNS }, (_, n) => ({
    n,
    faults: Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomFault(rand)),
    script: rand() < 0.2 ? ['queued', 'building', 'build-error'] : ['queued', 'building', 'success'],
    seeded: rand() < 0.5,
  }));
}

async function runCase(c: Case): Promise<string[]> {
  const w = await world({
    links: { 'my-app': IN_STEP_LINK },
    deployScript: c.script,
    faults: c.faults,
    ...(c.seeded ? { deployments: { 'my-app': [{ status: 'success' }, { status: 'build-error' }] } } : {}),
  });
  const started = Date.now();
  const r = await w.run({
    ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
    inputs: { 'timeout-minutes': String(DEADLINE_MS / 60_000), 'request-timeout-seconds': '1', 'poll-interval-seconds': '0.05' },
    deps: { retry: QUICK_RETRY },
  });
  const took = Date.now() - started;
  const created = w.fake.deploymentsCreated();
  const id = r.outputs['deployment-id'];
  const status = r.outputs['deployment-status'];
  const broken: string[] = [];
  if (created.length > 1) broken.push(`${created.length} deployments started`);
  if (id !== '' && id !== created[0]?.id) broken.push(`outputs name deployment ${id}, not the one the run started (${created[0]?.id ?? 'none'})`);
  if (r.report.ok !== (status === 'success')) broken.push(`verdict ok=${r.report.ok} but deployment status "${status}" (${r.report.outcome}: ${r.report.message})`);
  if (r.report.ok && created[0]?.status !== 'success') broken.push(`reported success, but the deployment is ${created[0]?.status ?? 'missing'}`);
  if (took > DEADLINE_MS + SLACK_MS) broken.push(`ended ${took} ms after its start (deadline ${DEADLINE_MS} ms)`);
  if (/answered 200/.test(r.report.message)) broken.push(`a 200 reported as a failure: ${r.report.message}`);
  return broken.map((b) => `run ${c.n} (faults ${JSON.stringify(c.faults, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}): ${b}`);
}

describe('randomized fault campaign', () => {
  it(`${RUNS} runs with random faults on random requests keep the invariants (seed ${SEED})`, async () => {
    const cases = campaign();
    const broken: string[][] = [];
    // AT_ONCE runs at any time: a new one starts as soon as one ends.
    let next = 0;
    await Promise.all(Array.from({ length: AT_ONCE }, async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        broken[c.n] = await runCase(c);
      }
    }));
    expect(broken.flat()).toEqual([]);
  }, 180_000);
});
