/**
 * Honest outcomes on the built bundle: the commit a deployment built as an output, and the runner's files that are
 * missing or unusable (event payload, GITHUB_OUTPUT, step summary), each said in one line, never a stack trace, a
 * deploy that succeeded still reported as such.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, IN_STEP_LINK, world, writes } from './helpers.js';

checkEveryRun();

const push = () => webhook('push', byRef('refs/heads/'));
const LATER_SHA = 'aaaabbbbccccddddeeeeffff0000111122223333';
const scratch = mkdtempSync(join(tmpdir(), 'scalingo-honest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** No line of a Node stack trace. */
const STACK = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

describe('git-ref', () => {
  it("is an output of the action; the log says which commit was built, and that it is not the run's", async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, branchHeads: { master: LATER_SHA } });
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push() });
    expect(r.code).toBe(0);
    expect(r.outputs['git-ref']).toBe(LATER_SHA);
    expect(r.stdout).toContain(`Commit built: ${LATER_SHA}`);
    expect(r.stdout).toContain("Scalingo built aaaabbb, the branch's head, not this run's commit 6113728");
    expect(r.summary).toContain('| Commit built | `aaaabbb` |');
  });

  it("is SCALINGO_GIT_REF in the command line's dotenv report", async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, branchHeads: { master: LATER_SHA } });
    const r = await w.cli({
      args: ['--app', 'my-app', '--command', 'deploy', '--branch', 'master', '--poll-interval-seconds', '0.05'],
    });
    expect(r.code).toBe(0);
    expect(r.outputs.SCALINGO_GIT_REF).toBe(LATER_SHA);
  });
});

describe("the runner's files", () => {
  it.each([
    ['null', 'null', /event\.json holds null, not an event object/],
    ['not JSON', '{"ref": "refs/heads/mas', /event\.json is not JSON/],
  ])(
    'an event payload that is %s: one warning line, decided from the event name, deployed',
    async (name, text, said) => {
      const w = await world({ links: { 'my-app': IN_STEP_LINK } });
      const path = join(scratch, `${name.replace(/\W/g, '-')}-event.json`);
      writeFileSync(path, text);
      const r = await w.action({
        event: 'push',
        ref: 'refs/heads/master',
        payload: {},
        env: { GITHUB_EVENT_PATH: path },
      });
      expect(r.code).toBe(0);
      const warnings = r.stdout.split('\n').filter((l) => l.startsWith('::warning'));
      expect(warnings).toEqual([expect.stringMatching(said)]);
      expect(warnings[0]).toContain('deciding from the event name push alone');
      expect(`${r.stdout}\n${r.stderr}`).not.toMatch(STACK);
      expect(writes(w.fake)).toHaveLength(1);
    },
  );

  it('a missing event payload: one warning line', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: {},
      env: { GITHUB_EVENT_PATH: join(scratch, 'none.json') },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::warning'))).toEqual([
      expect.stringMatching(/none\.json cannot be read \(ENOENT\)/),
    ]);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(STACK);
  });

  it('a GITHUB_OUTPUT that cannot be written: one warning line, the deploy still reported as a success', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      env: { GITHUB_OUTPUT: join(scratch, 'no-dir', 'output') },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Deployed my-app');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::warning'))).toEqual([
      expect.stringMatching(
        /Outputs not written to GITHUB_OUTPUT \(.*no-dir\/output\): no such file\. Later steps will not see them\./,
      ),
    ]);
    expect(r.stdout).not.toContain('::error::');
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(STACK);
  });

  it('a step summary that cannot be written: one warning line, the deploy still reported as a success', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      env: { GITHUB_STEP_SUMMARY: join(scratch, 'no-dir', 'summary.md') },
    });
    expect(r.code).toBe(0);
    expect(r.outputs['deployment-status']).toBe('success');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::warning'))).toEqual([
      expect.stringMatching(/^::warning::Job summary not written to GITHUB_STEP_SUMMARY \(.*summary\.md\): /),
    ]);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(STACK);
  });
});

describe('command line', () => {
  it('--dotenv=false writes no dotenv file (not a file named false)', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const cwd = mkdtempSync(join(scratch, 'cwd-'));
    const r = await w.cli({
      args: [
        '--app',
        'my-app',
        '--command',
        'deploy',
        '--branch',
        'master',
        '--poll-interval-seconds',
        '0.05',
        '--dotenv=false',
      ],
      dotenv: false,
      cwd,
      env: { GITLAB_CI: 'true' },
    });
    expect(r.code).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
