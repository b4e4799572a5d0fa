// @ts-check
/**
 * @file The fake Scalingo's deployments stream: the WebSocket fake (fake-stream.js) served on the fake API's own
 * server, fed by the simulation. As deployments progress, it sends `new` when one appears (with the deployment
 * object, its `pusher` and `user`, as Scalingo's CLI reads it), its build output as `log` events (one line per event,
 * without its newline by default, as in the API docs' example; the very lines `GET …/deployments/:id/output`
 * answers), then `status` on each change: the stream and `/output` agree. A connection replays what was sent
 * (fake-stream.js), as Scalingo's does.
 *
 * Which apps advertise it (`links.deployments_stream` of `GET /v1/apps/:app`): with `advertise: 'auto'` (the
 * default), the apps whose deployments move with time (a timed script); a script that moves on status reads only
 * is a polling test's device, under which a follower trusting a live stream would wait. `true`: every app; `false`:
 * none. The URL is the fake's own (`ws://127.0.0.1:<port>/apps/<app>`): a real Scalingo host is never advertised.
 */
import { attachStream } from './fake-stream.js';

/** @typedef {import('./fake-stream.js').FakeStream} FakeStream */
/** @typedef {import('./fake-stream.js').FakeStreamOptions} FakeStreamOptions */
/** @typedef {import('./fake-stream.js').StreamFaultRule} StreamFaultRule */
/** @typedef {import('./fake-scalingo-world.js').ScalingoSimulation} ScalingoSimulation */

/**
 * @typedef {object} FakeStreamSettings
 * @property {boolean | 'auto'} [advertise] Which apps give their stream URL (default 'auto', see above).
 * @property {FakeStreamOptions} [options] The WebSocket fake's options (pings, replay, token check...).
 * @property {StreamFaultRule[]} [faults] Stream faults, from the first connection on (more with `stream.fault()`).
 * @property {number} [tickMs] How often the simulation is looked at for progress (default 10 ms); it is also looked
 *   at after every API request.
 * @property {boolean} [logNewline] Each `log` event's content ends with a newline (default false: one line without
 *   its newline, as the API docs' example shows it and Scalingo's CLI prints it, the harder case for a client that
 *   waits for a newline).
 * @property {'deployment' | 'bare-id'} [newEvent] What `new` carries in `data.deployment`: the deployment object, with
 *   `pusher` and `user` (default: what Scalingo's CLI parses, it reads the pusher's username), or its bare id (the API
 *   docs' example).
 */

/**
 * @typedef {object} DeploymentsStream
 * @property {FakeStream} stream The WebSocket fake: faults, counters, `outputOf()`, `dropAll()`.
 * @property {(app: string) => string | undefined} linkOf The `deployments_stream` an app advertises, if any.
 * @property {() => void} sync Sends what happened since the last look.
 * @property {(id: string) => number | undefined} endSentAt When the final `status` of a deployment was sent (epoch ms).
 * @property {() => Promise<void>} close
 */

/**
 * Lines of a text ending with a newline (the fake's outputs always do).
 * @param {string} text
 */
const linesOf = (text) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/**
 * @param {import('node:http').Server} server The fake API's server.
 * @param {ScalingoSimulation} world
 * @param {FakeStreamSettings} [settings]
 * @returns {DeploymentsStream}
 */
export function attachDeploymentsStream(server, world, settings = {}) {
  const stream = attachStream(server, settings.options ?? {});
  for (const rule of settings.faults ?? []) stream.fault(rule);
  const advertise = settings.advertise ?? 'auto';
  /** @type {Map<string, { status: string | undefined, lines: string[], endSentAt?: number }>} */
  const sent = new Map();

  /** @param {string} appName */
  const linkOf = (appName) => {
    if (advertise === false) return undefined;
    if (advertise === 'auto') {
      const { deployScript, deployScripts } = world.state.scenario;
      const script = Object.hasOwn(deployScripts, appName) ? deployScripts[appName] : deployScript;
      if (Array.isArray(script)) return undefined;
    }
    return stream.urlFor(appName);
  };

  const newEvent = settings.newEvent ?? 'deployment';

  const sync = () => {
    world.tick();
    for (const deployment of world.state.deployments) {
      // Not a past deployment, nor one of an app deleted since (a review app whose pull request closed).
      if (deployment.trigger === 'seed' || !Object.hasOwn(world.state.apps, deployment.appName)) continue;
      let entry = sent.get(deployment.id);
      if (!entry) {
        entry = { status: undefined, lines: [] };
        sent.set(deployment.id, entry);
        if (newEvent === 'bare-id') {
          stream.newDeployment(deployment.appName, deployment.id, { bareId: true });
        } else {
          const view = world.deploymentView(deployment);
          stream.newDeployment(deployment.appName, deployment.id, { deployment: { ...view, user: view.pusher } });
        }
      }
      if (entry.endSentAt !== undefined) continue;
      const app = world.app(deployment.appName);
      const status = world.observe(deployment);
      if (status === entry.status) continue;
      // The output changes with the status only: what /output answers now, beyond the lines already sent. (A timed
      // script that fails in the build still goes through pushing and starting first: its failure output does not
      // extend what was sent, and only the lines past what both share are sent, so the failure still shows.)
      // A new phase is announced before its lines; the end comes after the last ones.
      const lines = linesOf(world.deploymentOutput(app, deployment.id).text ?? '');
      const final = !['queued', 'building', 'pushing', 'starting'].includes(status);
      entry.status = status;
      if (!final) stream.status(deployment.appName, deployment.id, status);
      let shared = 0;
      while (shared < entry.lines.length && shared < lines.length && entry.lines[shared] === lines[shared]) shared++;
      const fresh = lines.slice(shared);
      for (const line of fresh) {
        if (settings.logNewline) stream.log(deployment.appName, deployment.id, `${line}\n`);
        else stream.log(deployment.appName, deployment.id, line, { line: true });
      }
      entry.lines = [...entry.lines, ...fresh];
      if (final) {
        stream.status(deployment.appName, deployment.id, status);
        entry.endSentAt = Date.now();
      }
    }
  };

  const timer = setInterval(sync, settings.tickMs ?? 10);
  timer.unref();

  return {
    stream,
    linkOf,
    sync,
    endSentAt: (id) => sent.get(id)?.endSentAt,
    async close() {
      clearInterval(timer);
      await stream.close();
    },
  };
}
