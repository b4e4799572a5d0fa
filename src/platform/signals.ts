/** SIGINT/SIGTERM (a cancelled workflow or job, Ctrl-C) become an abort: the run stops and reports what it knows. */
import { CancelledError } from '../core/errors.js';

export interface Cancellation {
  signal: AbortSignal;
  dispose(): void;
}

export function cancellation(): Cancellation {
  const controller = new AbortController();
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      // A second signal means "now": leave at once.
      if (controller.signal.aborted) process.exit(130);
      controller.abort(new CancelledError(name));
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
