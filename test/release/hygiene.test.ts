/**
 * Repository hygiene that users and contributors rely on: the Node.js floor stated everywhere alike, tested in CI, and
 * an `npm ci` without EBADENGINE warnings; least-privilege permissions in every README workflow; the security policy,
 * code owners, contributing guide, workflow scanner and Dependabot cool-down.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/runner.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
/** The text with its line breaks and indentation folded, to find a sentence wrapped over lines. */
const flat = (file: string) => read(file).replace(/\s+/g, ' ');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; overrides?: Record<string, string> };

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, { permissions?: Record<string, string> | string; 'runs-on'?: string; steps?: Step[] }>;
}

describe('the Node.js floor of the command', () => {
  const floor = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1]);

  it('is one major, stated alike in package.json, the READMEs, CONTRIBUTING.md and the component', () => {
    expect(floor).toBe(20);
    expect(flat('README.md')).toContain(
      `it needs Node.js ${floor} or later (every change is tested on Node ${floor} and 24;`,
    );
    expect(flat('CONTRIBUTING.md')).toContain(`**The command (the npm package) supports Node.js ${floor} or later**`);
    expect(read('gitlab/templates/scalingo.yml')).toContain(`It needs Node.js ${floor} or later and npx.`);
    expect(flat('gitlab/README.md')).toContain(`It needs Node.js ${floor} or later, npx,`);
    // The component's default image runs a Node the command supports.
    const image = /image:\n\s+description: .*\n\s+type: string\n\s+default: node:(\d+)-alpine/.exec(
      read('gitlab/templates/scalingo.yml'),
    );
    expect(Number(image?.[1])).toBeGreaterThanOrEqual(floor);
  });

  it('is what CI tests: the whole suite on the floor and on Node 24, and the end-to-end suites on 24 in .ci/run', () => {
    const ci = yaml.load(read('.github/workflows/ci.yml')) as Workflow;
    const nodes = Object.values(ci.jobs).map(
      (job) => job.steps?.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version'],
    );
    const testedOn = Object.values(ci.jobs)
      .filter((job) => job.steps?.some((s) => /\bnpm test\b/.test(s.run ?? '')))
      .map((job) => job.steps?.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version']);
    expect(nodes).toContain(floor);
    expect(testedOn.sort()).toEqual([floor, 24]);
    expect(read('.ci/run')).toContain('npm run test:node24');
    const release = yaml.load(read('.github/workflows/release.yml')) as {
      jobs: { check: { strategy: { matrix: { node: number[] } } } };
    };
    expect(release.jobs.check.strategy.matrix.node).toEqual([floor, 24]);
  });

  it('lets npm ci install the lockfile on this Node without an EBADENGINE warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalingo-engines-'));
    try {
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
      // A dry run installs nothing and, offline, asks the registry nothing: npm checks every package's engines.
      const result = spawnSync('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          npm_config_cache: join(dir, 'cache'),
          npm_config_update_notifier: 'false',
        },
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/added \d+ packages/);
      expect(result.stderr).not.toContain('EBADENGINE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The one override behind it: octokit asks for content-type 3, whose engines say Node 22 or later.
    expect(pkg.overrides).toEqual({ 'content-type': '^2.1.0' });
  });
});

describe('README workflows: least-privilege permissions', () => {
  const workflows = [...read('README.md').matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((b) => /^jobs:/m.test(b));

  it.each(workflows.map((w, i) => [i + 1, w] as const))(
    'snippet %i grants only what the action needs there',
    (_n, text) => {
      const wf = yaml.load(text) as Workflow;
      expect(wf.permissions, 'a top-level permissions block').toBeTypeOf('object');
      const granted = wf.permissions as Record<string, string>;
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
      const ours = steps.filter((s) => s.uses === 'scalingo-deploy/scalingo-deploy@v1');
      const pullRequests = 'pull_request' in wf.on || 'pull_request_target' in wf.on;
      const comments = pullRequests && ours.some((s) => s.with?.comment !== false);
      const labels = steps.some((s) => /gh pr edit .*--remove-label/.test(s.run ?? ''));
      const deployments = ours.some((s) => s.with?.['github-deployment'] === true);
      const needed: Record<string, string> = { contents: 'read' };
      if (comments || labels) needed['pull-requests'] = 'write';
      if (deployments) needed.deployments = 'write';
      expect(granted).toEqual(needed);
      for (const job of Object.values(wf.jobs)) expect(job.permissions, 'no job widens them').toBeUndefined();
    },
  );
});

describe('repository files', () => {
  it('say the project is not affiliated with Scalingo', () => {
    expect(flat('README.md')).toContain('it is not affiliated with, endorsed by or supported by Scalingo.');
    expect(flat('gitlab/README.md')).toContain('it is not affiliated with, endorsed by or supported by Scalingo.');
  });

  it('have a security policy that sends reports to private vulnerability reporting', () => {
    const security = flat('SECURITY.md');
    expect(security).toContain('https://github.com/scalingo-deploy/scalingo-deploy/security/advisories/new');
    expect(security).toMatch(/never in a public issue/);
    expect(flat('RELEASING.md')).toContain('Private vulnerability reporting');
  });

  it('have code owners for the workflows, the bundle and the GitLab component', () => {
    const rules = read('.github/CODEOWNERS')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/));
    expect(Object.fromEntries(rules.map(([path, ...owners]) => [path, owners]))).toEqual({
      '/.github/': ['@scalingo-deploy/maintainers'],
      '/dist/': ['@scalingo-deploy/maintainers'],
      '/gitlab/': ['@scalingo-deploy/maintainers'],
    });
  });

  it('have a contributing guide with the two commands, the test layers and the way to release', () => {
    const contributing = read('CONTRIBUTING.md');
    expect(contributing).toContain('npm ci && npm run demo');
    expect(contributing).toMatch(/^npm test\b/m);
    for (const layer of ['test/unit', 'test/integration', 'test/e2e', 'test/gitlab', 'test/release'])
      expect(contributing, layer).toContain(`\`${layer}\``);
    expect(contributing).toContain('[RELEASING.md](RELEASING.md)');
    expect(contributing).toContain('[SECURITY.md](SECURITY.md)');
  });

  it('scan the workflows with zizmor in CI, with a pinned action', () => {
    const ci = yaml.load(read('.github/workflows/ci.yml')) as Workflow;
    const scan = Object.values(ci.jobs)
      .flatMap((j) => j.steps ?? [])
      .find((s) => s.uses?.startsWith('zizmorcore/zizmor-action@'));
    expect(scan?.uses).toMatch(/@[0-9a-f]{40}$/);
    expect(scan?.with?.['advanced-security']).toBe(false);
  });

  it('hold Dependabot updates back a week after their release', () => {
    const dependabot = yaml.load(read('.github/dependabot.yml')) as {
      updates: { 'package-ecosystem': string; cooldown?: Record<string, number> }[];
    };
    expect(dependabot.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
    for (const update of dependabot.updates) {
      expect(update.cooldown?.['default-days'], update['package-ecosystem']).toBeGreaterThanOrEqual(7);
      expect(update.cooldown?.['semver-major-days'], update['package-ecosystem']).toBeGreaterThanOrEqual(7);
    }
  });
});
