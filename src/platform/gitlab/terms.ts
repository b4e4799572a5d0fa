/** GitLab's words for what the core says: merge requests are !7, the token is a masked CI/CD variable. */
import { WORKFLOW_NAMES } from '../../core/inputs.js';
import type { Terms } from '../../core/event.js';

export const GITLAB_TERMS: Terms = {
  // The GitLab face is the command line: cli/ puts its flag names over these.
  ...WORKFLOW_NAMES,
  platformName: 'GitLab',
  pr: (n) => (n === undefined ? 'merge request' : `merge request !${n}`),
  prRef: (n) => `!${n}`,
  secretsHint: 'the SCALINGO_API_TOKEN environment variable (GitLab: a masked CI/CD variable).',
};
