/** What the core needs from a platform's log, and the masking that every line goes through. */

export interface Logger {
  info(line: string): void;
  /** A warning the platform shows prominently (a GitHub annotation). */
  warning(line: string, title?: string): void;
  debug(line: string): void;
  /** Runs `fn` inside a collapsible section of the log. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** The credentials of one run. Every text that leaves the core goes through `redact`. */
export class Secrets {
  private readonly values = new Set<string>();

  add(secret: string | undefined): void {
    // Very short strings would mask ordinary words; no credential is that short.
    if (secret && secret.length >= 6) this.values.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.values) out = out.split(secret).join('***');
    return out;
  }
}

/** Wraps a logger so that no line it prints can carry a secret. */
export function redacting(log: Logger, secrets: Secrets): Logger {
  return {
    info: (line) => log.info(secrets.redact(line)),
    warning: (line, title) => log.warning(secrets.redact(line), title),
    debug: (line) => log.debug(secrets.redact(line)),
    group: (title, fn) => log.group(secrets.redact(title), fn),
  };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}
