/**
 * Shared by the end-to-end suites: the fake world, the runs against it, and the checks every scenario gets.
 * Every run is made in debug mode (RUNNER_DEBUG=1, ACTIONS_STEP_DEBUG=true, SCALINGO_DEBUG=true), and after each
 * test everything it produced is scanned for the API token, every bearer token the fake issued, and their Basic
 * encoding.
 */
import { afterEach, expect } from 'vitest';
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { leaks, runAction, runCli, TOKEN, type ActionRun, type CliRun, type RunResult } from '../support/runner.js';
import { fastInputs, secretsOf, type Fake, type FakeOptions } from '../support/requests.js';

export {
  calls,
  IN_STEP_LINK,
  pollsOf,
  REPO,
  requestsOf,
  secretsOf,
  sortedCalls,
  TOKEN,
  writes,
  type Fake,
  type FakeOptions,
} from '../support/requests.js';

const DEBUG_ENV = { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true', SCALINGO_DEBUG: 'true' };

export interface World {
  fake: Fake;
  action(run: Omit<ActionRun, 'inputs'> & { inputs?: Record<string, string> }): Promise<RunResult>;
  cli(run: CliRun): Promise<RunResult & { dotenv: string }>;
}

let fakes: Fake[] = [];
let results: { result: Pick<RunResult, 'everything'>; extraSecrets: string[] }[] = [];

/** Adds what a run sent elsewhere (e.g. the bodies it sent to GitHub) to the after-each scan for credentials. */
export function scanToo(everything: string): void {
  results.push({ result: { everything }, extraSecrets: [] });
}

/** Registers the after-each checks in the calling test file: no secret anywhere, fakes closed. */
export function checkEveryRun(): void {
  afterEach(async () => {
    try {
      for (const { result, extraSecrets } of results) {
        const secrets = [...fakes.flatMap(secretsOf), ...extraSecrets];
        expect(leaks(result.everything, secrets), 'a credential was printed').toEqual([]);
      }
    } finally {
      await Promise.all(fakes.map((f) => f.close()));
      fakes = [];
      results = [];
    }
  });
}

export async function world(options: FakeOptions = {}): Promise<World> {
  const fake = await startFakeScalingo(options);
  fakes.push(fake);
  return {
    fake,
    async action(run) {
      const inputs = { ...defaultInputs(fake), ...run.inputs };
      const result = await runAction({ ...run, inputs, env: { ...DEBUG_ENV, ...run.env } });
      results.push({ result, extraSecrets: [inputs['api-token'] ?? '', inputs['github-token'] ?? ''].filter(Boolean) });
      return result;
    },
    async cli(run) {
      const env = {
        SCALINGO_API_TOKEN: TOKEN,
        SCALINGO_API_URL: fake.apiUrl,
        SCALINGO_AUTH_URL: fake.authUrl,
        ...DEBUG_ENV,
        ...run.env,
      };
      const result = await runCli({ ...run, env });
      results.push({ result, extraSecrets: [env.SCALINGO_API_TOKEN].filter(Boolean) });
      return result;
    },
  };
}

/** Fast settings for tests: polls every 50 ms. */
export function defaultInputs(fake: Fake): Record<string, string> {
  return { ...fastInputs(fake, '0.05'), comment: 'false' };
}
