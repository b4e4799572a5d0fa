/**
 * The command line, as the npm package installs it and as GitLab jobs run it: the packed tarball runs offline with
 * no dependency, and the built CLI gives the same results as the action from GitLab's variables.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/runner.js';
import { checkEveryRun, IN_STEP_LINK, world, writes } from './helpers.js';

checkEveryRun();

const GITLAB_PUSH = {
  GITLAB_CI: 'true',
  CI: 'true',
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'master',
  CI_COMMIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  CI_PROJECT_URL: 'https://github.com/Codertocat/Hello-World',
  CI_SERVER_URL: 'https://github.com',
  SCALINGO_POLL_INTERVAL_SECONDS: '0.05',
};

describe('npm package', () => {
  it('packs the bundle with no dependency, and `npx --yes ./package.tgz` runs offline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalingo-pack-'));
    try {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        dependencies?: object;
        bin: Record<string, string>;
      };
      expect(pkg.dependencies ?? {}).toEqual({});
      expect(pkg.bin).toEqual({ 'scalingo-deploy': 'dist/cli.js' });
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      ) as { filename: string; files: { path: string }[] }[];
      expect(packed[0]!.files.map((f) => f.path).sort()).toEqual(
        expect.arrayContaining(['dist/cli.js', 'dist/index.js', 'dist/package.json', 'package.json']),
      );
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        npm_config_cache: join(dir, 'cache'),
        npm_config_offline: 'true',
        npm_config_update_notifier: 'false',
      };
      const out = execFileSync('npx', ['--yes', `./${packed[0]!.filename}`, '--version'], {
        cwd: dir,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(out.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('scalingo-deploy', () => {
  it('--help lists the flags and exits 0', async () => {
    const w = await world();
    const r = await w.cli({ args: ['--help'], dotenv: false });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: scalingo-deploy');
    expect(r.stdout).toContain('--[no-]auto-deploy    env SCALINGO_AUTO_DEPLOY');
    expect(w.fake.requests).toEqual([]);
  });

  it('in a GitLab push pipeline: deploys the followed branch, prints a report, writes the dotenv', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.cli({ args: ['--app', 'my-app'], env: GITLAB_PUSH });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.outputs).toEqual({
      SCALINGO_APP: 'my-app',
      SCALINGO_APP_URL: 'https://my-app.osc-fr1.scalingo.io',
      SCALINGO_DEPLOYMENT_ID: id,
      SCALINGO_DEPLOYMENT_STATUS: 'success',
      SCALINGO_REVIEW_APP: '',
      SCALINGO_LINK: 'unchanged',
      SCALINGO_TIMED_OUT: 'false',
      SCALINGO_DASHBOARD_URL: `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
      SCALINGO_GIT_REF: w.fake.deploymentsCreated()[0]!.git_ref,
      SCALINGO_APPS: expect.stringContaining(`"deployment-id":"${id}"`),
    });
    expect(r.stdout).toContain('✅ Scalingo: my-app deployed');
    expect(w.fake.requests.find((q) => q.service === 'auth')?.headers['user-agent']).toMatch(
      /^scalingo-deploy\/\d+\.\d+\.\d+ \(gitlab\)$/,
    );
  });

  it('fails with status 1 exactly when the action would: a build error', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'build-error'] });
    const r = await w.cli({ args: ['--app', 'my-app'], env: GITLAB_PUSH });
    expect(r.code).toBe(1);
    expect(r.outputs.SCALINGO_DEPLOYMENT_STATUS).toBe('build-error');
    expect(r.stderr).toMatch(/^scalingo-deploy: Deployment \S+ of my-app ended with status build-error/);
  });
});
