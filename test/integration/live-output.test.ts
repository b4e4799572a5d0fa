/**
 * Live build output (`logs: true`): the core in-process against the fake Scalingo and its deployments stream (a real
 * WebSocket on the fake API's server). Each line of the followed deployment is printed once, in order; the end is
 * noticed at once; a stream that is refused, never authenticates or breaks never fails the run; lines it missed are
 * read back from the output. After each test the harness checks that no credential shows anywhere.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import type { StreamFaultRule } from '../support/fake-stream.js';
import { IN_STEP_LINK, onGitHub, pollsOf, TOKEN, world, type Fake, type InProcessResult } from './harness.js';

const push = () => webhook('push', byRef('refs/heads/'));
/** Quick reconnections and a quick give-up, so that fallbacks show within a test. */
const FAST_STREAM = { stream: { firstBackoffMs: 20, maxBackoffMs: 80, silenceMs: 5000, closeGraceMs: 50 } };

async function deployWith(
  options: {
    durationMs?: number;
    final?: string;
    faults?: StreamFaultRule[];
    inputs?: Record<string, string>;
    safetyReadMs?: number;
  } = {},
) {
  const w = await world({
    links: { 'my-app': IN_STEP_LINK },
    deployScript: { durationMs: options.durationMs ?? 1200, final: options.final ?? 'success' },
    stream: { faults: options.faults ?? [] },
  });
  const r = await w.run({
    ctx: onGitHub('push', 'refs/heads/master', push()),
    inputs: { branch: 'master', 'auto-deploy': 'false', 'poll-interval-seconds': '0.05', ...options.inputs },
    deps: {
      followTimings: {
        ...FAST_STREAM,
        ...(options.safetyReadMs !== undefined ? { safetyReadMs: options.safetyReadMs } : {}),
      },
    },
  });
  return { w, f: w.fake, r, endedAt: Date.now() };
}

/** The followed deployment's whole build output, as /output gives it at the end. */
function expectedLines(f: Fake): string[] {
  const d = f.deploymentsCreated()[0]!;
  return f.stream!.outputOf(d.app, d.id).replace(/\n$/, '').split('\n');
}

/** The build lines the run printed, in order (other lines left out). */
function printedBuildLines(r: InProcessResult, expected: string[]): string[] {
  const set = new Set(expected);
  return r.lines.filter((line) => set.has(line));
}

const unavailable = (r: InProcessResult) => r.lines.filter((l) => l.startsWith('Live build output unavailable'));

describe('live build output', () => {
  it('prints each line of the followed deployment once, in order, inside the follow group, as it arrives', async () => {
    const { f, r } = await deployWith({ inputs: { 'poll-interval-seconds': '5' } });
    expect(r.report.ok).toBe(true);
    const expected = expectedLines(f);
    expect(expected.length).toBeGreaterThan(10);
    expect(printedBuildLines(r, expected)).toEqual(expected);
    const group = r.lines.findIndex((l) => l.startsWith('group: Follow deployment'));
    const first = r.lines.indexOf(expected[0]!);
    expect(group).toBeGreaterThanOrEqual(0);
    expect(first).toBeGreaterThan(group);
    // Statuses still show, once each, between the lines.
    expect(r.lines.filter((l) => /^pushing \(/.test(l))).toHaveLength(1);
    expect(r.lines.indexOf(expected.at(-1)!)).toBeGreaterThan(r.lines.findIndex((l) => /^pushing \(/.test(l)));
    expect(unavailable(r)).toEqual([]);
    // A live stream: no output read at the end, no repeated tail.
    expect(f.requests.filter((q) => q.path.endsWith('/output'))).toHaveLength(0);
    expect(f.stream!.counters().origins).toEqual(['http://scalingo-cli.local/1']);
  });

  it('ends within a fraction of a second of the deployment, with the default poll interval, in few status reads', async () => {
    const { f, r, endedAt } = await deployWith({ durationMs: 1500, inputs: { 'poll-interval-seconds': '5' } });
    expect(r.report.ok).toBe(true);
    const d = f.deploymentsCreated()[0]!;
    const streamEnd = f.streamEndAt(d.id)!;
    expect(endedAt - streamEnd).toBeLessThan(300);
    // The stream's final status stands (the commit built is known from the trigger): no status read at all; the
    // safety reads (every 30 s) never came.
    expect(pollsOf(f)).toBe(0);
    expect(r.outputs).toMatchObject({ 'deployment-status': 'success', 'git-ref': d.git_ref });
  });

  it('reads the status every safety interval while the stream is live', async () => {
    const { f, r } = await deployWith({
      durationMs: 1500,
      safetyReadMs: 400,
      inputs: { 'poll-interval-seconds': '0.05' },
    });
    expect(r.report.ok).toBe(true);
    // 1.5 s at one read per 0.4 s (not one per 0.05 s: that would be 30).
    expect(pollsOf(f)).toBeGreaterThanOrEqual(2);
    expect(pollsOf(f)).toBeLessThanOrEqual(5);
  });

  it('falls back to polling with one info line when the stream is refused, and succeeds', async () => {
    const { f, r } = await deployWith({ faults: [{ kind: 'refuse', times: Infinity }] });
    expect(r.report.ok).toBe(true);
    expect(unavailable(r)).toHaveLength(1);
    expect(pollsOf(f)).toBeGreaterThan(5);
    expect(r.report.deployment?.status).toBe('success');
  });

  it('falls back to polling when the token is refused on the stream', async () => {
    const { f, r } = await deployWith({ faults: [{ kind: 'bad-token', times: Infinity }] });
    expect(r.report.ok).toBe(true);
    expect(unavailable(r)).toHaveLength(1);
    expect(pollsOf(f)).toBeGreaterThan(5);
    // It authenticated with the exchanged bearer, never with the API token.
    expect(f.stream!.auths.length).toBeGreaterThan(0);
    for (const auth of f.stream!.auths) expect(auth.token).toMatch(/^eyJ/);
  });

  it('after a drop, shows the replayed lines once and loses none', async () => {
    const { f, r } = await deployWith({ faults: [{ kind: 'drop', afterLines: 4 }] });
    expect(r.report.ok).toBe(true);
    const expected = expectedLines(f);
    expect(printedBuildLines(r, expected)).toEqual(expected);
    expect(f.stream!.counters().connections).toBeGreaterThanOrEqual(2);
  });

  it('when every connection drops, fills the gap from the output at the end: no line lost, none twice', async () => {
    const { f, r } = await deployWith({ faults: [{ kind: 'drop', afterLines: 3, times: Infinity }] });
    expect(r.report.ok).toBe(true);
    const expected = expectedLines(f);
    expect(printedBuildLines(r, expected)).toEqual(expected);
    expect(f.requests.filter((q) => q.path.endsWith('/output'))).toHaveLength(1);
    expect(r.log).toMatch(/line\(s\) of build output the live stream missed, read back/);
  });

  it('reconnects a silent stream and goes on', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      deployScript: { durationMs: 1500, final: 'success' },
      stream: { faults: [{ kind: 'silence', afterFrames: 2 }] },
    });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { branch: 'master', 'auto-deploy': 'false', 'poll-interval-seconds': '5' },
      deps: { followTimings: { stream: { ...FAST_STREAM.stream, silenceMs: 150 } } },
    });
    expect(r.report.ok).toBe(true);
    const expected = expectedLines(f);
    expect(printedBuildLines(r, expected)).toEqual(expected);
    expect(f.stream!.counters().connections).toBeGreaterThanOrEqual(2);
  });

  it("prints only the followed deployment's lines when several deploy at once on the app", async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: { durationMs: 1200, final: 'success' } });
    const f = w.fake;
    // Another deployment of the same app writes on the same stream all along.
    let n = 0;
    const other = setInterval(() => {
      f.stream!.newDeployment('my-app', 'other-deployment');
      f.stream!.log('my-app', 'other-deployment', `foreign line ${++n}\n`);
      f.stream!.status('my-app', 'other-deployment', n > 30 ? 'build-error' : 'building');
    }, 20);
    try {
      const r = await w.run({
        ctx: onGitHub('push', 'refs/heads/master', push()),
        inputs: { branch: 'master', 'auto-deploy': 'false', 'poll-interval-seconds': '5' },
      });
      expect(r.report.ok).toBe(true);
      expect(r.log).not.toContain('foreign line');
      expect(printedBuildLines(r, expectedLines(f))).toEqual(expectedLines(f));
    } finally {
      clearInterval(other);
    }
  });

  it('masks a credential in a build line, and keeps a build line from acting as a workflow command', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: { durationMs: 1200, final: 'success' } });
    const f = w.fake;
    let injected = false;
    const inject = setInterval(() => {
      const d = f.deploymentsCreated()[0];
      if (!d || injected || f.stream!.authenticated() === 0) return;
      injected = true;
      f.stream!.log('my-app', d.id, `echo ${TOKEN}\n::add-mask::nothing\n`);
    }, 5);
    try {
      const r = await w.run({
        ctx: onGitHub('push', 'refs/heads/master', push()),
        inputs: { branch: 'master', 'auto-deploy': 'false', 'poll-interval-seconds': '5' },
      });
      expect(r.report.ok).toBe(true);
      expect(injected).toBe(true);
      expect(r.lines).toContain('echo ***');
      expect(r.lines.some((l) => l.startsWith('::'))).toBe(false);
      expect(r.lines).toContain(':\u200b:add-mask::nothing');
    } finally {
      clearInterval(inject);
    }
  });

  it('keeps the end of the output of a failed deployment in the report, without printing it twice', async () => {
    const { f, r } = await deployWith({ final: 'crashed-error', inputs: { 'poll-interval-seconds': '5' } });
    expect(r.report.ok).toBe(false);
    const expected = expectedLines(f);
    expect(printedBuildLines(r, expected)).toEqual(expected);
    expect(r.report.deployment?.outputTail).toBe(expected.slice(-40).join('\n'));
    expect(r.lines.some((l) => l.startsWith('group: Build output of'))).toBe(false);
  });

  it('with logs: false, follows by polling only, as before, and opens no stream', async () => {
    const { f, r } = await deployWith({ inputs: { logs: 'false' } });
    expect(r.report.ok).toBe(true);
    expect(f.stream!.counters().connections).toBe(0);
    expect(pollsOf(f)).toBeGreaterThan(5);
    expect(r.log).not.toContain('Fetching deployment cache');
  });
});
