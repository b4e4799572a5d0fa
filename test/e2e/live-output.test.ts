/**
 * Live build output on the built bundle (`npm run build` first): the GitHub action and the packed CLI, each a child
 * process against the fake Scalingo and its deployments stream. The lines show while the build runs (the output's
 * chunks are timed as they arrive, compared with the time the fake ended the deployment), each once, in order; a
 * refused or dropping stream falls back to status requests and loses no line; no credential shows anywhere.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import type { StreamFaultRule } from '../support/fake-stream.js';
import { ROOT, spawnNode } from '../support/runner.js';
import { checkEveryRun, IN_STEP_LINK, pollsOf, scanToo, TOKEN, world, type Fake } from './helpers.js';

checkEveryRun();

const push = () => webhook('push', byRef('refs/heads/'));
const GITLAB_PUSH = {
  GITLAB_CI: 'true',
  CI: 'true',
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'master',
  CI_COMMIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  CI_PROJECT_URL: 'https://github.com/Codertocat/Hello-World',
  CI_SERVER_URL: 'https://github.com',
};

type Chunk = { text: string; at: number };

function timed() {
  const chunks: Chunk[] = [];
  return { chunks, onOutput: (_: string, text: string, at: number) => void chunks.push({ text, at }) };
}

/** When the first chunk holding `line` arrived. */
function arrival(chunks: Chunk[], line: string): number | undefined {
  return chunks.find((c) => c.text.split('\n').includes(line))?.at;
}

function followed(fake: Fake) {
  const d = fake.deploymentsCreated()[0]!;
  const lines = fake.stream!.outputOf(d.app, d.id).replace(/\n$/, '').split('\n');
  const endedAt = fake.deploymentTimeline(d.id)!.finalAt!;
  return { d, lines, endedAt };
}

/** Each build line once, in the order of the build. */
function expectEachOnceInOrder(stdout: string, lines: string[]): void {
  const set = new Set(lines);
  expect(stdout.split('\n').filter((l) => set.has(l))).toEqual(lines);
}

async function fakeWith(durationMs: number, faults: StreamFaultRule[] = []) {
  return world({
    links: { 'my-app': IN_STEP_LINK },
    deployScript: { durationMs, final: 'success' },
    stream: { faults },
  });
}

describe('the GitHub action (dist/index.js), live build output', () => {
  it('prints the build lines inside the follow group while the build runs, and ends right after the deployment', async () => {
    const w = await fakeWith(2500);
    const t = timed();
    const r = await w.action({
      event: 'push',
      payload: push(),
      inputs: { branch: 'master', 'auto-deploy': 'false', 'poll-interval-seconds': '5' },
      onOutput: t.onOutput,
    });
    expect(r.code).toBe(0);
    const { lines, endedAt } = followed(w.fake);
    expectEachOnceInOrder(r.stdout, lines);
    // Live: the first build lines arrived well before the deployment ended.
    const first = arrival(t.chunks, lines[0]!)!;
    expect(first).toBeLessThan(endedAt - 500);
    expect(arrival(t.chunks, '-----> Installing dependencies')!).toBeLessThan(endedAt);
    // Inside the follow group.
    const group = r.stdout.indexOf('::group::Follow deployment');
    expect(group).toBeGreaterThanOrEqual(0);
    expect(r.stdout.indexOf(lines[0]!)).toBeGreaterThan(group);
    expect(r.stdout.indexOf('::endgroup::', group)).toBeGreaterThan(r.stdout.indexOf(lines.at(-1)!));
    // The end noticed at once, with a 5 s poll interval, and taken from the stream: no status read at all.
    expect(r.exitedAt - endedAt).toBeLessThan(1000);
    expect(pollsOf(w.fake)).toBe(0);
  });

  it('falls back to status requests when the stream is refused, and succeeds', async () => {
    const w = await fakeWith(1500, [{ kind: 'refuse', times: Infinity }]);
    const r = await w.action({ event: 'push', payload: push(), inputs: { branch: 'master', 'auto-deploy': 'false' } });
    expect(r.code).toBe(0);
    expect(r.outputs['deployment-status']).toBe('success');
    expect(pollsOf(w.fake)).toBeGreaterThan(5);
    expect(w.fake.stream!.upgrades.length).toBeGreaterThan(0);
  });

  it('when the stream drops again and again, shows every line once (the missing ones read back at the end)', async () => {
    const w = await fakeWith(2000, [{ kind: 'drop', afterLines: 3, times: Infinity }]);
    const r = await w.action({ event: 'push', payload: push(), inputs: { branch: 'master', 'auto-deploy': 'false' } });
    expect(r.code).toBe(0);
    expectEachOnceInOrder(r.stdout, followed(w.fake).lines);
    expect(w.fake.stream!.counters().connections).toBeGreaterThanOrEqual(2);
  });
});

describe('the packed CLI (npx ./package.tgz), live build output', () => {
  let dir = '';
  let tarball = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'scalingo-live-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as { filename: string }[];
    tarball = packed[0]!.filename;
    // Install it once, offline, as `npx --yes ./package.tgz` does on first use.
    execFileSync('npm', ['install', '--no-save', '--offline', '--no-audit', '--no-fund', `./${tarball}`], {
      cwd: dir,
      env: npmEnv(),
      stdio: 'ignore',
    });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function npmEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      npm_config_cache: join(dir, 'cache'),
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    };
  }

  async function cli(fake: Fake, env: Record<string, string> = {}) {
    const t = timed();
    const bin = join(dir, 'node_modules/scalingo-deploy/dist/cli.js');
    expect(JSON.parse(readFileSync(join(dir, 'node_modules/scalingo-deploy/package.json'), 'utf8')).name).toBe(
      'scalingo-deploy',
    );
    const r = await spawnNode(
      bin,
      ['--app', 'my-app'],
      {
        ...npmEnv(),
        ...GITLAB_PUSH,
        SCALINGO_API_TOKEN: TOKEN,
        SCALINGO_API_URL: fake.apiUrl,
        SCALINGO_AUTH_URL: fake.authUrl,
        SCALINGO_DEBUG: 'true',
        ...env,
      },
      { cwd: dir, onOutput: t.onOutput },
    );
    scanToo([r.stdout, r.stderr].join('\n'));
    return { ...r, chunks: t.chunks };
  }

  it('prints the build lines while the build runs, each once, and ends right after the deployment', async () => {
    const w = await fakeWith(2500);
    const r = await cli(w.fake);
    expect(r.code).toBe(0);
    const { lines, endedAt } = followed(w.fake);
    expectEachOnceInOrder(r.stdout, lines);
    expect(arrival(r.chunks, lines[0]!)!).toBeLessThan(endedAt - 500);
    expect(r.exitedAt - endedAt).toBeLessThan(1000);
    expect(pollsOf(w.fake)).toBe(0);
  });

  it('falls back to status requests when the stream drops, and loses no line', async () => {
    const w = await fakeWith(2000, [{ kind: 'drop', afterLines: 3, times: Infinity }]);
    const r = await cli(w.fake, { SCALINGO_POLL_INTERVAL_SECONDS: '0.05' });
    expect(r.code).toBe(0);
    expectEachOnceInOrder(r.stdout, followed(w.fake).lines);
  });

  it('with --logs=false, prints no build line and polls', async () => {
    const w = await fakeWith(1000);
    const r = await cli(w.fake, { SCALINGO_POLL_INTERVAL_SECONDS: '0.05', SCALINGO_LOGS: 'false' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Fetching deployment cache');
    expect(w.fake.stream!.counters().connections).toBe(0);
  });
});
