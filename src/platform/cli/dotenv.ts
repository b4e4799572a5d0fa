/** The dotenv report: the outputs as variables, for GitLab's `artifacts:reports:dotenv` and later jobs. */
import { outputs, type StepReport } from '../../core/report.js';

/** Where the dotenv report goes inside GitLab when `--dotenv` is not given. */
export const GITLAB_DOTENV = 'scalingo.env';

export const DOTENV_KEYS = {
  SCALINGO_APP: 'app',
  SCALINGO_APP_URL: 'app-url',
  SCALINGO_DEPLOYMENT_ID: 'deployment-id',
  SCALINGO_DEPLOYMENT_STATUS: 'deployment-status',
  SCALINGO_REVIEW_APP: 'review-app',
  SCALINGO_LINK: 'link',
  SCALINGO_TIMED_OUT: 'timed-out',
  SCALINGO_DASHBOARD_URL: 'dashboard-url',
  SCALINGO_GIT_REF: 'git-ref',
  SCALINGO_APPS: 'apps',
} as const;

/** `SCALINGO_APPS` is the `apps` output: a JSON list, one object per app. */
export function dotenv(report: StepReport): string {
  const values = outputs(report);
  return (
    Object.entries(DOTENV_KEYS)
      .map(([key, output]) => `${key}=${values[output].replace(/[\r\n]/g, ' ')}`)
      .join('\n') + '\n'
  );
}
