/**
 * The interface is declared once (src/core/inputs.ts). action.yml and the README tables must say the same:
 * `UPDATE_README=1 npx vitest run test/unit/interface.test.ts` rewrites the README tables from it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { INPUTS, OUTPUTS, type InputSpec } from '../../src/core/inputs.js';
import { VERSION } from '../../src/version.js';
import { ROOT } from '../support/runner.js';

interface ActionYml {
  name: string;
  description: string;
  branding: { icon: string; color: string };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}

const action = yaml.load(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYml;
const github = INPUTS.filter((i) => i.platforms.includes('github'));

function typeLabel(i: InputSpec): string {
  if (i.type === 'enum') return (i.options ?? []).map((o) => `\`${o}\``).join(' \\| ');
  return i.type === 'secret' ? 'string (secret)' : i.type;
}

export function inputsTable(): string {
  const rows = github.map(
    (i) =>
      `| \`${i.name}\` | ${typeLabel(i)} | ${i.default !== undefined ? `\`${i.default}\`` : ''} | ${i.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| Name | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(): string {
  const rows = OUTPUTS.map((o) => `| \`${o.name}\` | ${o.description} |`);
  return ['| Name | Description |', '| --- | --- |', ...rows].join('\n');
}

function section(readme: string, name: string): string | undefined {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme);
  return m?.[1];
}

describe('action.yml', () => {
  it('runs the bundle on node24 and has branding', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(action.description.length).toBeLessThanOrEqual(125); // the Marketplace's limit
    expect(action.branding.icon).toBeTruthy();
    expect(action.branding.color).toBeTruthy();
  });

  it("declares exactly the GitHub inputs, each documented, with the code's defaults", () => {
    expect(Object.keys(action.inputs)).toEqual(github.map((i) => i.name));
    for (const spec of github) {
      const declared = action.inputs[spec.name]!;
      expect(declared.description, spec.name).toBe(spec.description);
      // Inputs that fall back to an environment variable must have no default: it would hide the variable.
      expect(declared.default, spec.name).toBe(spec.envFallback ? undefined : spec.default);
      expect(declared.required ?? false, spec.name).toBe(false);
    }
  });

  it('declares every output the code sets', () => {
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map((o) => o.name));
    for (const o of OUTPUTS) expect(action.outputs[o.name]?.description).toBe(o.description);
  });

  it('keeps the version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('README', () => {
  it('has the inputs and outputs tables of action.yml', () => {
    const path = join(ROOT, 'README.md');
    let readme = readFileSync(path, 'utf8');
    if (process.env.UPDATE_README) {
      for (const [name, table] of [
        ['inputs', inputsTable()],
        ['outputs', outputsTable()],
      ] as const) {
        readme = readme.replace(
          new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`),
          `$1${table}$2`,
        );
      }
      writeFileSync(path, readme);
    }
    expect(section(readme, 'inputs')).toBe(inputsTable());
    expect(section(readme, 'outputs')).toBe(outputsTable());
  });
});
