/**
 * Discovery against an API given by a MockAgent: a list of links that never ends stops at the guard, and the step
 * says the list was cut short, never that no app is linked.
 */
import { describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { discover } from '../../src/core/phases/discover.js';
import { Session } from '../../src/core/session.js';
import { parseSettings } from '../../src/core/settings.js';
import { MAX_LINK_PAGES } from '../../src/scalingo/client.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';

const AUTH = 'https://auth.scalingo.com';
const API = 'https://api.osc-fr1.scalingo.com';
const SOURCE = 'https://github.com/octo-org/octo-repo';

describe('discovery over a list that never ends', () => {
  it('stops at the guard and says the list was cut short, not that no app is linked', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const json = { headers: { 'content-type': 'application/json' } };
    agent
      .get(AUTH)
      .intercept({ path: '/v1/tokens/exchange', method: 'POST' })
      .reply(200, { token: 'bearer-token-1234' }, json);
    let asked = 0;
    // Every page says there is a next one, and never how many there are: another repository's link on each.
    agent
      .get(API)
      .intercept({ path: (p) => p.startsWith('/v1/scm_repo_links?'), method: 'GET' })
      .reply((req) => {
        asked += 1;
        const page = Number(new URL(req.path, API).searchParams.get('page'));
        return {
          statusCode: 200,
          data: {
            scm_repo_links: [
              { app_id: `x${page}`, url: 'https://github.com', owner: 'someone', repo: 'else', branch: 'main' },
            ],
            meta: { pagination: { current_page: page, next_page: page + 1 } },
          },
          responseOptions: json,
        };
      })
      .persist();
    const warnings: string[] = [];
    const settings = parseSettings((n) => ({ 'api-token': 'tk-us-test-0123456789abcdef', command: 'auto' })[n], {
      source: SOURCE,
    });
    const session = new Session(
      settings,
      { platform: 'github', terms: GITHUB_TERMS, eventName: 'push', event: { kind: 'push', branch: 'main' } },
      {
        log: { info: () => {}, warning: (line) => warnings.push(line), debug: () => {}, group: (_t, fn) => fn() },
        userAgent: 'test',
        tuning: { dispatcher: agent, rateLimit: { limit: 100_000, windowMs: 1000 } },
      },
    );

    const found = await discover(session);
    expect(asked).toBe(MAX_LINK_PAGES);
    expect(warnings).toEqual([
      `The list of links did not end after ${MAX_LINK_PAGES} pages (${MAX_LINK_PAGES} links): read no further, the apps linked to ${SOURCE} may be more than these.`,
    ]);
    expect(found.stop).toEqual({
      ok: false,
      outcome: 'error',
      message: `No app linked to ${SOURCE} on the first ${MAX_LINK_PAGES} pages of links (${MAX_LINK_PAGES} links), where the list was cut short: set \`app\` to the app(s) to deploy.`,
    });
  }, 20_000);
});
