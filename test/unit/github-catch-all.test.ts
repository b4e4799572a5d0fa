/**
 * The GitHub edge's one catch-all: a throw outside settings parsing (here, from the core's entry) ends the step with
 * one `::error::` line naming the error, never a stack; the stack goes to the debug log only.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ failed: [] as string[], debug: [] as string[], errors: [] as string[] }));

vi.mock('@actions/core', async (importOriginal) => {
  const real = await importOriginal<typeof import('@actions/core')>();
  return {
    ...real,
    setFailed: (message: string) => calls.failed.push(message),
    debug: (message: string) => calls.debug.push(message),
    error: (message: string) => calls.errors.push(message),
    info: () => undefined,
    warning: () => undefined,
    startGroup: () => undefined,
    endGroup: () => undefined,
    setSecret: () => undefined,
    setOutput: () => undefined,
  };
});

vi.mock('../../src/core/step.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/step.js')>();
  return {
    ...real,
    runStep: () => {
      const err = new Error('the core broke its promise');
      err.stack = 'Error: the core broke its promise\n    at runStep (src/core/step.ts:1:1)';
      return Promise.reject(err);
    },
  };
});

const ENV = {
  'INPUT_API-TOKEN': 'tk-us-catchall-token',
  INPUT_APP: 'my-app',
  GITHUB_EVENT_NAME: 'workflow_dispatch',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_REPOSITORY: 'Codertocat/Hello-World',
  GITHUB_SERVER_URL: 'https://github.com',
};

describe('the GitHub edge', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    calls.failed.length = 0;
    calls.debug.length = 0;
    calls.errors.length = 0;
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('turns an unexpected throw into one failure line, the stack in debug only', async () => {
    const { runAction } = await import('../../src/platform/github/action.js');
    await runAction();

    expect(calls.failed).toEqual(['Unexpected error: the core broke its promise']);
    expect(calls.errors).toEqual([]);
    expect(calls.failed.join('\n')).not.toContain('    at ');
    expect(calls.debug.some((line) => line.includes('at runStep (src/core/step.ts:1:1)'))).toBe(true);
    expect([...calls.failed, ...calls.debug].join('\n')).not.toContain('tk-us-catchall-token');
  });
});
