/** Shared by the end-to-end suites: the fake world, and how its request log is read in assertions. */
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { TOKEN } from '../support/runner.js';

export type Fake = Awaited<ReturnType<typeof startFakeScalingo>>;
export type FakeOptions = NonNullable<Parameters<typeof startFakeScalingo>[0]>;

export const REPO = 'https://github.com/Codertocat/Hello-World';
export const HEAD_SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

/** A link to this repository, following master, with Scalingo's own deploys off. */
export const IN_STEP_LINK = {
  source: REPO,
  branch: 'master',
  auto_deploy_enabled: false,
  deploy_review_apps_enabled: false,
  delete_on_close_enabled: true,
  hours_before_delete_on_close: 0,
};

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

/** Fast settings for tests: polls every 50 ms. */
export function inputs(fake: Fake, extra: Record<string, string> = {}): Record<string, string> {
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
    ...extra,
  };
}

export { startFakeScalingo, TOKEN };
