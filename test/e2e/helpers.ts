/**
 * Shared by the end-to-end suites: the fake world, the runs against it, and the checks every scenario gets.
 * Every run is made in debug mode (RUNNER_DEBUG=1, ACTIONS_STEP_DEBUG=true, SCALINGO_DEBUG=true), and after each
 * test everything it produced is scanned for the API token, every bearer token the fake issued, and their Basic
 * encoding.
 */
import { afterEach, expect } from 'vitest';
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { leaks, runAction, runCli, TOKEN, type ActionRun, type CliRun, type RunResult } from '../support/runner.js';

export type Fake = Awaited<ReturnType<typeof startFakeScalingo>>;
export type FakeOptions = NonNullable<Parameters<typeof startFakeScalingo>[0]>;

export const REPO = 'https://github.com/Codertocat/Hello-World';

/** A link to this repository, following master, with Scalingo's own deploys off. */
export const IN_STEP_LINK = {
  source: REPO,
  branch: 'master',
  auto_deploy_enabled: false,
  deploy_review_apps_enabled: false,
  delete_on_close_enabled: true,
  hours_before_delete_on_close: 0,
};

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
      const env = { SCALINGO_API_TOKEN: TOKEN, SCALINGO_API_URL: fake.apiUrl, SCALINGO_AUTH_URL: fake.authUrl, ...DEBUG_ENV, ...run.env };
      const result = await runCli({ ...run, env });
      results.push({ result, extraSecrets: [env.SCALINGO_API_TOKEN].filter(Boolean) });
      return result;
    },
  };
}

/** Fast settings for tests: polls every 50 ms. */
export function defaultInputs(fake: Fake): Record<string, string> {
  return {
    'api-token': TOKEN,
    app: 'my-app',
    'api-url': fake.apiUrl,
    'auth-url': fake.authUrl,
    'poll-interval-seconds': '0.05',
    'timeout-minutes': '1',
    wait: 'true',
    command: 'auto',
    comment: 'false',
  };
}

/** Requests as `service METHOD path` lines, in arrival order. */
export function calls(fake: Fake): string[] {
  return fake.requests.map((r) => `${r.service} ${r.method} ${r.path}`);
}

/** The requests that change something (not the token exchange), with their bodies, in order. */
export function writes(fake: Fake): { method: string; path: string; body: unknown }[] {
  return fake.mutating().map((r) => ({ method: r.method, path: r.path, body: r.body }));
}

/** Sorted, so that requests made concurrently compare equal whatever their order of arrival. */
export function sortedCalls(fake: Fake): string[] {
  return [...calls(fake)].sort();
}

/**
 * Every request the fake received, as sorted `service METHOD path` lines (requests made concurrently arrive in
 * either order), with deployment ids as `<id>` and the app's id as `<app-id>`.
 */
export function requestsOf(fake: Fake): string[] {
  const ids = fake.deploymentsCreated().map((d) => d.id);
  const appId = fake.state.apps['my-app']?.id;
  return sortedCalls(fake).map((c) => {
    let line = c;
    for (const id of ids) line = line.split(id).join('<id>');
    return appId ? line.split(appId).join('<app-id>') : line;
  });
}

/** Every bearer token the fake saw, and the API token: what must never be printed. */
export function secretsOf(fake: Fake): string[] {
  const bearers = fake.requests
    .map((r) => r.headers.authorization ?? '')
    .filter((h) => h.startsWith('Bearer '))
    .map((h) => h.slice('Bearer '.length));
  return [TOKEN, ...new Set(bearers)];
}

export function pollsOf(fake: Fake, app = 'my-app'): number {
  return calls(fake).filter((c) => new RegExp(`^api GET /v1/apps/${app}/deployments/[^/?]+$`).test(c)).length;
}

export { TOKEN };
