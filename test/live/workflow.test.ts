/**
 * .github/workflows/live.yml runs the live suite as the README says: on demand (with a write-mode input) and weekly,
 * with the token of an environment, least privilege, actions pinned by commit, the recorded answers uploaded. (It is
 * linted by actionlint with the other workflows, test/unit/readme.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const text = readFileSync(join(ROOT, '.github/workflows/live.yml'), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Workflow {
  on: { workflow_dispatch: { inputs: Record<string, { type: string }> }; schedule: { cron: string }[] };
  permissions: Record<string, string>;
  jobs: Record<string, { environment: string; permissions?: unknown; steps: Step[] }>;
}
const workflow = yaml.load(text) as Workflow;
const job = Object.values(workflow.jobs)[0]!;
const runStep = job.steps.find((s) => s.run === 'npm run test:live');

describe('the live workflow', () => {
  it('runs on demand, with a write-mode input and a pull request, and weekly', () => {
    expect(workflow.on.workflow_dispatch.inputs.write?.type).toBe('boolean');
    expect(workflow.on.workflow_dispatch.inputs['pull-request']?.type).toBe('string');
    expect(workflow.on.schedule).toHaveLength(1);
    expect(workflow.on.schedule[0]!.cron.split(' ')[4]).toMatch(/^[0-6]$/);
  });

  it('reads the repository only, and takes the token from the scalingo-live environment', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(Object.keys(workflow.jobs)).toHaveLength(1);
    expect(job.permissions).toBeUndefined();
    expect(job.environment).toBe('scalingo-live');
    expect(runStep?.env?.SCALINGO_API_TOKEN).toBe('${{ secrets.SCALINGO_API_TOKEN }}');
    // Write mode only when someone asked for it, never on the schedule.
    expect(runStep?.env?.SCALINGO_LIVE_WRITE).toMatch(/github\.event_name == 'workflow_dispatch' && inputs\.write/);
  });

  it('passes the live suite only variables it reads', () => {
    const source = readFileSync(join(ROOT, 'test/live/live.js'), 'utf8');
    for (const name of Object.keys(runStep?.env ?? {})) expect(source, name).toContain(`env.${name}`);
  });

  it('pins every action by its full commit, with the version in a comment', () => {
    const uses = text.split('\n').filter((line) => /^\s*-?\s*uses:/.test(line));
    expect(uses.length).toBeGreaterThanOrEqual(3);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });

  it('uploads what it recorded, whatever the outcome', () => {
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('always()');
    expect(upload?.with?.path).toBe(runStep?.env?.SCALINGO_LIVE_RECORD_DIR);
  });
});
