/**
 * The fake Scalingo's deployments stream: which apps advertise it, that it carries what /output says as the
 * deployment progresses (new, log, status, for every deployment of the app), and that it is the fake's own URL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFakeScalingo, type FakeScalingo } from './fake-scalingo.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const running: FakeScalingo[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

async function start(options: Parameters<typeof startFakeScalingo>[0]) {
  const fake = await startFakeScalingo(options);
  running.push(fake);
  const bearer = (
    (await (
      await fetch(`${fake.authUrl}/v1/tokens/exchange`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}` },
      })
    ).json()) as { token: string }
  ).token;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${fake.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (res.headers.get('content-type')?.startsWith('text/plain') ? await res.text() : await res.json()) as T;
  };
  return { fake, bearer, api };
}

type AppView = { app: { links: { deployments_stream?: string } } };

describe('fake Scalingo: the deployments stream', () => {
  it("is advertised for apps whose deployments move with time, at the fake's own URL, and not for read-driven scripts", async () => {
    const { fake, api } = await start({
      apps: { timed: {}, polled: {} },
      deployScripts: { timed: { durationMs: 1000, final: 'success' }, polled: ['queued', 'success'] },
    });
    const timed = await api<AppView>('GET', '/v1/apps/timed');
    expect(timed.app.links.deployments_stream).toBe(fake.stream!.urlFor('timed'));
    expect(timed.app.links.deployments_stream).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/apps\/timed$/);
    expect((await api<AppView>('GET', '/v1/apps/polled')).app.links.deployments_stream).toBeUndefined();
  });

  it('advertises every app with advertise: true, and none with stream: false', async () => {
    const on = await start({ deployScript: ['queued', 'success'], stream: { advertise: true } });
    expect((await on.api<AppView>('GET', '/v1/apps/my-app')).app.links.deployments_stream).toBe(
      on.fake.stream!.urlFor('my-app'),
    );
    const off = await start({ deployScript: { durationMs: 100, final: 'success' }, stream: false });
    expect(off.fake.stream).toBeUndefined();
    expect((await off.api<AppView>('GET', '/v1/apps/my-app')).app.links.deployments_stream).toBeUndefined();
  });

  it('sends new, then each status and the output lines as the deployment progresses, in agreement with /output', async () => {
    const { fake, bearer, api } = await start({ deployScript: { durationMs: 600, final: 'crashed-error' } });
    const frames: { type: string; id?: string; data: Record<string, unknown> }[] = [];
    const ws = new WebSocket(fake.stream!.urlFor('my-app'), { headers: { Origin: 'http://scalingo-cli.local/1' } });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'auth', data: { token: bearer } }));
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { deployment } = await api<{ deployment: { id: string } }>(
      'POST',
      '/v1/apps/my-app/scm_repo_link/manual_deploy',
      { branch: 'main' },
    );
    await new Promise((resolve) => setTimeout(resolve, 900));
    ws.close();
    const mine = frames.filter((f) => f.type === 'ping' || f.id === deployment.id || f.type === 'new');
    // `new` carries the deployment as Scalingo's CLI parses it: it prints the pusher's username.
    expect(mine[0]).toMatchObject({
      type: 'new',
      data: {
        deployment: {
          id: deployment.id,
          status: 'queued',
          pusher: { username: 'test-user' },
          user: { username: 'test-user' },
          links: { output: expect.any(String) },
        },
      },
    });
    expect(mine.filter((f) => f.type === 'status').map((f) => f.data.status)).toEqual([
      'queued',
      'building',
      'pushing',
      'starting',
      'crashed-error',
    ]);
    // One line per event, without its newline (as in the API docs' example).
    const contents = mine.filter((f) => f.type === 'log').map((f) => String(f.data.content));
    expect(contents.length).toBeGreaterThan(5);
    expect(contents.filter((c) => c.includes('\n'))).toEqual([]);
    expect(contents.map((c) => `${c}\n`).join('')).toBe(
      await api<string>('GET', `/v1/apps/my-app/deployments/${deployment.id}/output`),
    );
    // The end comes after the last line.
    expect(mine.at(-1)).toMatchObject({ type: 'status', data: { status: 'crashed-error' } });
    expect(fake.streamEndAt(deployment.id)).toBeGreaterThan(0);
  });
});

describe("fake Scalingo: the stream's event forms", () => {
  async function framesOf(options: Parameters<typeof startFakeScalingo>[0]) {
    const { fake, bearer, api } = await start({ deployScript: { durationMs: 200, final: 'success' }, ...options });
    const frames: { type: string; id?: string; data: Record<string, unknown> }[] = [];
    const ws = new WebSocket(fake.stream!.urlFor('my-app'), { headers: { Origin: 'http://scalingo-cli.local/1' } });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'auth', data: { token: bearer } }));
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { deployment } = await api<{ deployment: { id: string } }>(
      'POST',
      '/v1/apps/my-app/scm_repo_link/manual_deploy',
      { branch: 'main' },
    );
    // Until the stream sent its end, and that frame arrived.
    while (!frames.some((f) => f.type === 'status' && f.id === deployment.id && f.data.status === 'success')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    ws.close();
    const output = await api<string>('GET', `/v1/apps/my-app/deployments/${deployment.id}/output`);
    return { fake, deployment, frames, output };
  }

  it('with logNewline: each log event is one line with its newline', async () => {
    const { frames, output } = await framesOf({ stream: { logNewline: true } });
    const contents = frames.filter((f) => f.type === 'log').map((f) => String(f.data.content));
    expect(contents.every((c) => c.endsWith('\n') && c.indexOf('\n') === c.length - 1)).toBe(true);
    expect(contents.join('')).toBe(output);
  });

  it("with newEvent: 'bare-id', `new` carries the bare id (the API docs' example)", async () => {
    const { frames, deployment } = await framesOf({ stream: { newEvent: 'bare-id' } });
    expect(frames.find((f) => f.type === 'new')).toEqual({ type: 'new', data: { deployment: deployment.id } });
  });

  it('records lines sent without their newline as lines: output, replay and drop faults count them', async () => {
    const { fake, deployment, output } = await framesOf({});
    expect(fake.stream!.outputOf('my-app', deployment.id)).toBe(output);
    const lines = output.split('\n').length - 1;
    fake.stream!.fault({ kind: 'drop', afterLines: 3 });
    const replayed: string[] = [];
    const ws = new WebSocket(fake.stream!.urlFor('my-app'), { headers: { Origin: 'http://scalingo-cli.local/1' } });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'auth', data: { token: 'any' } }));
    ws.on('message', (data) =>
      replayed.push(String((JSON.parse(String(data)) as { data: { content: string } }).data.content)),
    );
    await new Promise((resolve) => ws.once('close', resolve));
    expect(lines).toBeGreaterThan(3);
    expect(replayed).toEqual(output.split('\n').slice(0, 3));
  });
});
