/** Real webhook payloads, as GitHub sends them, from @octokit/webhooks-examples. */
import { createRequire } from 'node:module';

interface Example {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples') as Example[];

/** The first example of an event (and action), optionally the n-th among those that match. */
export function webhook(
  event: string,
  match: (payload: Record<string, unknown>) => boolean = () => true,
  nth = 0,
): Record<string, unknown> {
  const group = index.find((e) => e.name === event);
  const found = group?.examples.filter(match)[nth];
  if (!found) throw new Error(`no ${event} example payload matches`);
  return structuredClone(found);
}

export const byAction = (action: string) => (p: Record<string, unknown>) => p.action === action;
export const byRef = (prefix: string) => (p: Record<string, unknown>) =>
  typeof p.ref === 'string' && p.ref.startsWith(prefix);
