/**
 * What the fake Scalingo received, read the way the tests compare it: request lines, writes with their bodies, and
 * the credentials it issued (what must never be printed). Shared by the integration and end-to-end layers.
 */
import type { startFakeScalingo } from './fake-scalingo.js';
import { TOKEN } from './runner.js';

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

/** Inputs of a fast run against the fake: `app` my-app, polls every `pollSeconds`, a one-minute deadline. */
export function fastInputs(fake: Fake, pollSeconds: string): Record<string, string> {
  return {
    'api-token': TOKEN,
    app: 'my-app',
    'api-url': fake.apiUrl,
    'auth-url': fake.authUrl,
    'poll-interval-seconds': pollSeconds,
    'timeout-minutes': '1',
    wait: 'true',
    command: 'auto',
  };
}
