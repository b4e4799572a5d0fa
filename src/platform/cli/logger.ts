/** Log lines for a terminal or a GitLab job log (with its collapsible sections). */
import type { Logger } from '../../core/log.js';

type Env = Record<string, string | undefined>;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const defaultIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

export function textLogger(io: Io, env: Env): Logger {
  const gitlab = env.GITLAB_CI === 'true';
  const debug =
    ['true', '1'].includes(env.SCALINGO_DEBUG ?? '') || env.CI_DEBUG_TRACE === 'true' || env.RUNNER_DEBUG === '1';
  let section = 0;
  return {
    info: (line) => io.out(line),
    warning: (line) => io.out(gitlab ? `\x1b[33;1mWARNING: ${line}\x1b[0m` : `warning: ${line}`),
    debug: (line) => {
      if (debug) io.out(`debug: ${line}`);
    },
    group: async (title, fn) => {
      const id = `scalingo_${++section}`;
      const ts = (): number => Math.floor(Date.now() / 1000);
      io.out(
        gitlab
          ? `\x1b[0Ksection_start:${ts()}:${id}[collapsed=false]\r\x1b[0K\x1b[36;1m${title}\x1b[0m`
          : `== ${title}`,
      );
      try {
        return await fn();
      } finally {
        if (gitlab) io.out(`\x1b[0Ksection_end:${ts()}:${id}\r\x1b[0K`);
      }
    },
  };
}
