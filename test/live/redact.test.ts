/** What the live suite records and prints keeps no credential, e-mail, host nor account name, and keeps the shape. */
import { describe, expect, it } from 'vitest';
import { Redactor } from './redact.js';

const TOKEN = 'tk-us-Ab3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ3kL5nP7rT9';
const BEARER = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3OTYyOTM5NDcsInVpZCI6InVzLTEifQ.c2lnbmF0dXJl';

function redactor(): Redactor {
  const r = new Redactor();
  r.secret(TOKEN, 'api-token');
  r.secret(BEARER, 'bearer');
  r.host('https://api.osc-fr1.scalingo.com', 'api-host');
  r.literal('my-scratch-app', 'app');
  r.literal('acme', 'owner');
  return r;
}

describe('Redactor', () => {
  it('replaces the token, the bearer, their Basic form, any other JWT or API token', () => {
    const r = redactor();
    const text = r.text(
      `token=${TOKEN} Authorization: Bearer ${BEARER} Basic ${Buffer.from(`:${TOKEN}`).toString('base64')} other eyJhbGciOiJub25lIn0.eyJ4IjoxfQ. tk-us-another_one-123`,
    );
    expect(text).toBe(
      'token=<api-token> Authorization: Bearer <bearer> Basic <api-token-basic> other <jwt> <api-token>',
    );
  });

  it('replaces e-mails, hosts of URLs, bare host names and IP addresses, the same value by the same placeholder', () => {
    const r = redactor();
    const text = r.text(
      'git@ssh.osc-fr1.scalingo.com:my-scratch-app.git by john.doe@example.com on https://api.osc-fr1.scalingo.com/v1/apps, wss://deployments.scalingo.com/apps/x (http://127.0.0.1:8080/x), my-scratch-app.osc-fr1.scalingo.io and 10.0.0.12 and https://deployments.scalingo.com/',
    );
    expect(text).toBe(
      '<email-1>:<app>.git by <email-2> on https://<api-host>/v1/apps, wss://<host-1>/apps/x (http://<host-2>/x), <host-4> and <host-3> and https://<host-1>/',
    );
    for (const leak of ['scalingo', 'example.com', '127.0.0.1', '10.0.0.12', 'john', 'my-scratch-app', '@'])
      expect(text).not.toContain(leak);
  });

  it('replaces ids (UUIDs, 24-hex object ids, commit SHAs) consistently, and keeps other text', () => {
    const r = redactor();
    const text = r.text(
      'deployment 123e4567-e89b-12d3-a456-426655440000 of app 54100930736f7563d5030000 at 0bc7322dc67167969fdc23d217adcfe8d1d6c089, again 123E4567-E89B-12D3-A456-426655440000; npm run build in package.json (3f198e8)',
    );
    expect(text).toBe(
      'deployment <uuid-1> of app <oid-1> at <sha-1>, again <uuid-1>; npm run build in package.json (3f198e8)',
    );
  });

  it('keeps the keys and the types of a JSON answer, and replaces what identifies the account', () => {
    const r = redactor();
    const body = {
      scm_repo_link: {
        id: '42d04de5-5377-11e8-90e6-0242ac110052',
        owner: 'acme',
        repo: 'acme-api',
        branch: 'acme:fix/x',
        auto_deploy_enabled: true,
        hours_before_delete_stale: 0,
        linker: { id: 'us-aa263090-9a23-81f5-8c7c-5fd9a50a8fa8', username: 'john', email: 'john.doe@example.com' },
        url: 'https://github.com',
        last_auto_deploy_at: null,
      },
      scm_integrations: [{ access_token: 'a64fe9744da5e6ce790ca3a9084bd66cf433b24b', uid: '8', username: 'test-user' }],
      pull: { id: 1431362595, number: 186, target_repo_id: 99 },
      scm_repo_links: [{ owner: 'another-org', repo: 'secret-project', app_id: '5343eccd646173000a140000' }],
      token: BEARER,
    };
    const out = r.value(body) as typeof body;
    expect(out).toEqual({
      scm_repo_link: {
        id: '<uuid-1>',
        owner: '<owner>',
        repo: '<owner>-api',
        branch: '<owner>:fix/x',
        auto_deploy_enabled: true,
        hours_before_delete_stale: 0,
        linker: { id: 'us-<uuid-2>', username: '<username-1>', email: '<email-1>' },
        url: 'https://<host-1>',
        last_auto_deploy_at: null,
      },
      scm_integrations: [{ access_token: '<secret>', uid: '<uid-1>', username: '<username-2>' }],
      pull: { id: 1, number: 186, target_repo_id: 2 },
      scm_repo_links: [{ owner: '<owner-1>', repo: '<repo-1>', app_id: '<oid-1>' }],
      token: '<bearer>',
    });
  });

  it('never changes a placeholder when a name of the account is a word of it', () => {
    const r = new Redactor();
    r.literal('host', 'owner');
    expect(r.text('https://github.com/host/repo')).toBe('https://<host-1>/<owner>/repo');
  });
});
