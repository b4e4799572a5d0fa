/**
 * What travels on Scalingo's deployments stream, apart from the socket: the frames the server sends, and the lines of
 * one deployment's output counted so that each is shown once across reconnections (each connection replays the
 * output from its start). Pure: no socket, no clock.
 */
/** The Origin header Scalingo's own client sends. */
export const STREAM_ORIGIN = 'http://scalingo-cli.local/1';

/** Whether a deployment status is final: the one rule of types.ts (`isFinished`), under the stream's name. */
export { isFinished as isFinishedStatus } from './types.js';

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** A server frame, as far as the follower cares. */
export type StreamFrame =
  | { type: 'ping' }
  /** A deployment started. `deploymentId` is absent when the frame names none. */
  | { type: 'new'; deploymentId?: string }
  | { type: 'log'; deploymentId?: string; content: string }
  | { type: 'status'; deploymentId?: string; status: string }
  /** A frame of a type this module does not know, or a known type without its data. */
  | { type: 'other'; name: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Reads one text frame. Undefined when it is not a JSON object with a string `type`.
 * `new` accepts `data.deployment` as an object with an `id` (what the CLI parses) or as a bare id (what the docs
 * show), and falls back to the frame's `id`.
 */
export function parseFrame(text: string): StreamFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.type !== 'string') return undefined;
  const data = isRecord(value.data) ? value.data : {};
  const id = idOf(value.id);
  switch (value.type) {
    case 'ping':
      return { type: 'ping' };
    case 'new': {
      const deployment = data.deployment;
      const deploymentId = (isRecord(deployment) ? idOf(deployment.id) : idOf(deployment)) ?? id;
      return deploymentId === undefined ? { type: 'new' } : { type: 'new', deploymentId };
    }
    case 'log':
      if (typeof data.content !== 'string') return { type: 'other', name: 'log' };
      return id === undefined
        ? { type: 'log', content: data.content }
        : { type: 'log', deploymentId: id, content: data.content };
    case 'status':
      if (typeof data.status !== 'string' || data.status === '') return { type: 'other', name: 'status' };
      return id === undefined
        ? { type: 'status', status: data.status }
        : { type: 'status', deploymentId: id, status: data.status };
    default:
      return { type: 'other', name: value.type };
  }
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * The lines of a complete output text: split on newlines, a carriage return before one dropped, a final newline
 * ending the last line (not starting an empty one), an unfinished last line counted as a line.
 */
export function outputLines(output: string): string[] {
  if (output === '') return [];
  const lines = output.split('\n').map(stripCarriageReturn);
  if (output.endsWith('\n')) lines.pop();
  return lines;
}

/**
 * The lines of the complete output that the stream did not show, given how many it showed: what to print once the
 * deployment is over when the stream was interrupted or left before the end.
 */
export function missingLines(output: string, alreadyEmitted: number): string[] {
  return outputLines(output).slice(Math.max(0, alreadyEmitted));
}

/**
 * The lines of one `log` event: its content is one or more whole lines, whether or not it ends with a newline
 * (Scalingo's CLI prints each event as one line; whether the server ends them with one is not known). A final newline
 * ends the last line rather than starting an empty one; a carriage return before a newline is dropped.
 */
export function eventLines(content: string): string[] {
  return outputLines(content);
}

/**
 * Turns the `log` events of one deployment into lines shown once, across connections. Each connection replays the
 * output from its start: lines are counted per connection, and only those beyond the number already shown are new.
 * Each event is whole lines (see `eventLines`): nothing is held back for a next event.
 */
export class LineDeduper {
  /** Lines shown so far, all connections together. */
  emitted = 0;
  /** Lines seen on the current connection. */
  private seen = 0;
  private lastEmitted: string | undefined;
  /** What had been shown when the current connection began, to check its replay against. */
  private check: { at: number; line: string } | undefined;
  /** Set when a replay disagreed with what was shown: lines may then be missing or repeated. */
  mismatch = false;

  /** A new connection: its replay starts from the first line again. */
  startConnection(): void {
    this.seen = 0;
    this.check =
      this.emitted > 0 && this.lastEmitted !== undefined ? { at: this.emitted, line: this.lastEmitted } : undefined;
  }

  /** A `log` event's content; returns the lines to show now. */
  push(content: string): string[] {
    const out: string[] = [];
    for (const line of eventLines(content)) {
      this.seen += 1;
      if (this.check && this.seen === this.check.at) {
        if (line !== this.check.line) this.mismatch = true;
        this.check = undefined;
      }
      if (this.seen > this.emitted) {
        this.emitted = this.seen;
        this.lastEmitted = line;
        out.push(line);
      }
    }
    return out;
  }
}
