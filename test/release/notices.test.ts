/**
 * dist/THIRD_PARTY_NOTICES.txt, written by the build from what the bundle holds, names every third-party package
 * whose code is in dist/ with its licence text, as an independent reading of the lockfile finds them; it is what the
 * generator makes of today's node_modules, byte for byte; and the npm package ships it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledPackages, packageDir, renderNotices } from '../../.ci/third-party-notices.js';
import { ROOT } from '../support/runner.js';

const NOTICES = join(ROOT, 'dist/THIRD_PARTY_NOTICES.txt');
const text = readFileSync(NOTICES, 'utf8');

interface Entry {
  name: string;
  version: string;
  license: string;
  body: string;
}
/** The entries of the notices file: `name version`, `License: X`, then the texts, between rules. */
const entries: Entry[] = text
  .split(`${'-'.repeat(80)}\n`)
  .slice(1)
  .map((block) => {
    const [title = '', licenseLine = ''] = block.split('\n');
    const at = title.lastIndexOf(' ');
    return {
      name: title.slice(0, at),
      version: title.slice(at + 1),
      license: licenseLine.replace(/^License: /, ''),
      body: block,
    };
  });

interface LockEntry {
  name?: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

/** Where node would find `name` from the package at `from` (a lockfile key, '' for the project). */
function resolveIn(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** The packages src/ imports by name (not `node:` built-ins, not relative paths). */
function importedPackages(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.[cm]?[jt]s$/.test(entry)) {
        for (const m of readFileSync(path, 'utf8').matchAll(
          /(?:from\s+|import\s*\(\s*(?:\/\*[^*]*\*\/\s*)?|import\s+)['"]([^'"]+)['"]/g,
        )) {
          const spec = m[1]!;
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          names.add(
            spec
              .split('/')
              .slice(0, spec.startsWith('@') ? 2 : 1)
              .join('/'),
          );
        }
      }
    }
  };
  walk(join(ROOT, 'src'));
  return [...names].sort();
}

/** Whether a package ships JavaScript (types-only packages such as @octokit/types leave nothing in a bundle). */
function hasCode(dir: string): boolean {
  const walk = (d: string): boolean =>
    readdirSync(d).some((entry) => {
      const path = join(d, entry);
      if (entry === 'node_modules') return false;
      return statSync(path).isDirectory() ? walk(path) : /\.[cm]?js$/.test(entry);
    });
  return walk(join(ROOT, dir));
}

/** The runtime tree of src/'s imports in the lockfile: `name version` of each package with code. */
function runtimeTree(): { id: string; license?: string }[] {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const entry = lock.packages[key]!;
    for (const name of Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
    })) {
      const found = resolveIn(key, name);
      if (found) visit(found);
    }
  };
  for (const name of importedPackages()) {
    const key = resolveIn('', name);
    if (!key) throw new Error(`src/ imports ${name}, which package-lock.json does not have`);
    visit(key);
  }
  return [...seen].filter(hasCode).map((key) => {
    const entry = lock.packages[key]!;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    return { id: `${name} ${entry.version}`, license: entry.license };
  });
}

describe('third-party notices', () => {
  it('name exactly the packages with code in the runtime tree of what src/ imports', () => {
    const tree = runtimeTree();
    expect(importedPackages()).toEqual(expect.arrayContaining(['@actions/core', '@actions/github', 'undici']));
    expect(entries.map((e) => `${e.name} ${e.version}`).sort()).toEqual(tree.map((t) => t.id).sort());
    // Two versions of one package are both there (@actions/http-client today).
    expect(new Set(entries.map((e) => e.name)).size).toBeLessThan(entries.length);
    expect(text).toContain(`bundles the ${entries.length} packages below`);
  });

  it('give each package the licence its lockfile entry declares, with the licence text', () => {
    const declared = new Map(runtimeTree().map((t) => [t.id, t.license]));
    for (const entry of entries) {
      const id = `${entry.name} ${entry.version}`;
      expect(entry.license, id).toBe(declared.get(id));
      expect(entry.body.length, id).toBeGreaterThan(300);
      if (entry.license === 'MIT' || entry.license === 'ISC')
        expect(entry.body, id).toMatch(/Permission (is hereby granted|to use, copy, modify)/);
    }
    const apache = entries.filter((e) => e.license === 'Apache-2.0');
    expect(apache.map((e) => e.name)).toEqual(['before-after-hook']);
    expect(apache[0]!.body).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(apache[0]!.body).toContain('4. Redistribution.');
  });

  it('are what the generator makes of node_modules today, byte for byte (no path, no date, sorted)', async () => {
    const packages = entries.map((e) => ({ name: e.name, version: e.version, dir: '' }));
    expect(await renderNotices(packages)).toBe(text);
    expect(text).not.toContain(ROOT);
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort());
  });

  it('are shipped in the npm package', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [packed] = JSON.parse(out) as { files: { path: string }[] }[];
    expect(packed!.files.map((f) => f.path)).toContain('dist/THIRD_PARTY_NOTICES.txt');
  });
});

describe('.ci/third-party-notices.js: what the bundle holds', () => {
  it("takes each module's package, the innermost one, scoped or not, concatenated modules included", () => {
    expect(packageDir('/r/node_modules/undici/lib/index.js')).toBe('/r/node_modules/undici');
    expect(packageDir('/r/node_modules/@actions/github/node_modules/@actions/http-client/lib/index.js')).toBe(
      '/r/node_modules/@actions/github/node_modules/@actions/http-client',
    );
    expect(packageDir('/r/src/index.ts')).toBe('');
    expect(packageDir('/r/node_modules/@scope')).toBe('');

    const stats = {
      modules: [
        { nameForCondition: join(ROOT, 'src/index.ts') },
        {
          nameForCondition: join(ROOT, 'src/platform/github/action.ts'),
          modules: [
            { nameForCondition: join(ROOT, 'node_modules/@actions/core/lib/core.js') },
            { nameForCondition: join(ROOT, 'node_modules/@actions/core/lib/summary.js') },
          ],
        },
        { nameForCondition: join(ROOT, 'node_modules/undici/index.js') },
        { name: 'external "node:fs"' },
      ],
    };
    const version = (dir: string) =>
      (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { version: string }).version;
    expect(bundledPackages(stats)).toEqual([
      { name: '@actions/core', version: version('node_modules/@actions/core'), dir: 'node_modules/@actions/core' },
      { name: 'undici', version: version('node_modules/undici'), dir: 'node_modules/undici' },
    ]);
  });

  it('fails the build when a bundled package has no licence file', async () => {
    // The project itself has a LICENSE; a package name the tree does not hold gets nothing from the checker.
    await expect(
      renderNotices([{ name: 'no-such-package', version: '1.0.0', dir: 'node_modules/no-such-package' }]),
    ).rejects.toThrow(/no-such-package@1\.0\.0 .*no licence file/);
    expect(existsSync(join(ROOT, 'node_modules/no-such-package'))).toBe(false);
  });
});
