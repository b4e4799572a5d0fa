/**
 * Where a CI is recognised. Each CI reads its own variables into a context (its folder here); a new CI is one new
 * folder and one line in this list.
 */
import type { CiContext } from '../core/event.js';
import { githubContextFromEnv } from './github/event.js';
import { gitlabContext } from './gitlab/event.js';
import { LOCAL_TERMS } from './cli/names.js';

type Env = Record<string, string | undefined>;

const CIS: readonly { runs: (env: Env) => boolean; context: (env: Env) => CiContext }[] = [
  { runs: (env) => env.GITLAB_CI === 'true', context: gitlabContext },
  { runs: (env) => env.GITHUB_ACTIONS === 'true', context: githubContextFromEnv },
];

/** The context of the CI the process runs in; outside any, one with no event (only an explicit command runs). */
export function detectContext(env: Env): CiContext {
  const ci = CIS.find((c) => c.runs(env));
  return ci ? ci.context(env) : { platform: 'local', terms: LOCAL_TERMS, eventName: '', event: { kind: 'none' } };
}
