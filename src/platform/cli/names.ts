/** The command line's words: flags and variables by the names the user typed, not the action's inputs. */
import { INPUTS, inputSpec, type InputNames, type InputSpec } from '../../core/inputs.js';
import type { Terms } from '../../core/event.js';

type Env = Record<string, string | undefined>;

/** The inputs that are flags: every CLI input but secrets, which only come from the environment. */
export const FLAGS: readonly InputSpec[] = INPUTS.filter((i) => i.platforms.includes('cli') && i.type !== 'secret');

const isFlag = (input: string): boolean => FLAGS.some((f) => f.name === input);

/**
 * Names inputs as flags (`--auto-deploy=false`); an error about one names what the user set: the flag, or the
 * variable when the value came from it. Secrets are only variables.
 */
export function cliNames(flags: ReadonlyMap<string, string>, env: Env): InputNames {
  return {
    name: (input) => (isFlag(input) ? `--${input}` : inputSpec(input).env),
    setting: (input, value) => `--${input}=${value}`,
    subject: (input) => {
      const variable = inputSpec(input).env;
      if (!isFlag(input)) return variable;
      return !flags.get(input) && env[variable] ? variable : `--${input}`;
    },
  };
}

/** Outside any CI: the command line's own words. */
export const LOCAL_TERMS: Terms = {
  ...cliNames(new Map(), {}),
  platformName: 'the CI',
  pr: (n) => (n === undefined ? 'pull request' : `pull request #${n}`),
  prRef: (n) => `#${n}`,
  secretsHint: 'the SCALINGO_API_TOKEN environment variable (GitLab: a masked CI/CD variable).',
};
