/** GitHub's words for what the core says: pull requests are #7, inputs are the step's `with:` keys. */
import { WORKFLOW_NAMES } from '../../core/inputs.js';
import type { Terms } from '../../core/event.js';

export const GITHUB_TERMS: Terms = {
  ...WORKFLOW_NAMES,
  platformName: 'GitHub',
  pr: (n) => (n === undefined ? 'pull request' : `pull request #${n}`),
  prRef: (n) => `#${n}`,
  secretsHint:
    '`api-token: ${{ secrets.SCALINGO_API_TOKEN }}` on the step (or the SCALINGO_API_TOKEN environment variable), after adding the secret in the repository settings.',
};
