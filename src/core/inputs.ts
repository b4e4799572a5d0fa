/**
 * The one table of the product's settings. action.yml, the CLI's flags and environment variables, the GitLab
 * template's `spec:inputs` and the README tables are all checked against it by tests, so a name exists once.
 */

export type Platform = 'github' | 'gitlab' | 'cli';

export interface InputSpec {
  /** The input name, identical in action.yml, the CLI flag (`--name`) and the GitLab template. */
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'integer' | 'number' | 'enum' | 'secret';
  readonly options?: readonly string[];
  /** The default, as a user writes it: documented from here, and applied from here by settings.ts. */
  readonly default?: string;
  /** The environment variable read when the input is not given (and by the CLI). */
  readonly env: string;
  readonly description: string;
  /** Where the input exists. Secrets are never CLI flags nor GitLab inputs. */
  readonly platforms: readonly Platform[];
  /**
   * On GitHub too, an empty input falls back to `env`, as Scalingo's own tools read these variables. Such inputs
   * have no default in action.yml (it would hide the variable): the code applies `default` last.
   */
  readonly envFallback?: boolean;
}

const ALL: readonly Platform[] = ['github', 'gitlab', 'cli'];
const env = (name: string): string => `SCALINGO_${name.toUpperCase().replace(/-/g, '_')}`;

function input(spec: Omit<InputSpec, 'env' | 'platforms'> & Partial<Pick<InputSpec, 'env' | 'platforms'>>): InputSpec {
  return { env: env(spec.name), platforms: ALL, ...spec };
}

export const COMMANDS = ['auto', 'link', 'deploy', 'review-app', 'unlink'] as const;

export const INPUTS: readonly InputSpec[] = [
  input({
    name: 'api-token',
    envFallback: true,
    type: 'secret',
    platforms: ['github'],
    description: 'Scalingo API token (`tk-us-...`). Default: the `SCALINGO_API_TOKEN` environment variable. Required.',
  }),
  input({
    name: 'app',
    envFallback: true,
    type: 'string',
    description:
      'The Scalingo app to link and deploy (for review apps: the parent app); several apps separated by commas, spaces or newlines. Default: `SCALINGO_APP`; when both are empty, the apps linked to this repository that follow the pushed branch (pull requests: the base branch).',
  }),
  input({
    name: 'region',
    envFallback: true,
    type: 'string',
    default: 'osc-fr1',
    description:
      'Scalingo region; picks the API `https://api.<region>.scalingo.com`. Default: `SCALINGO_REGION`, else `osc-fr1`.',
  }),
  input({
    name: 'api-url',
    envFallback: true,
    type: 'string',
    description: 'Overrides the regional API base URL (with or without `https://`). Default: `SCALINGO_API_URL`.',
  }),
  input({
    name: 'auth-url',
    envFallback: true,
    type: 'string',
    default: 'https://auth.scalingo.com',
    description: 'Overrides the auth service URL. Default: `SCALINGO_AUTH_URL`, else `https://auth.scalingo.com`.',
  }),
  input({
    name: 'command',
    type: 'enum',
    options: COMMANDS,
    default: 'auto',
    description:
      '`auto` decides from the CI event; `link` only reconciles the link; `deploy` deploys the branch; `review-app` creates or redeploys the review app of a pull request; `unlink` deletes the link.',
  }),
  input({
    name: 'source',
    type: 'string',
    description:
      'Repository URL to link. Default: this repository (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`, GitLab `$CI_PROJECT_URL`).',
  }),
  input({
    name: 'scm-integration',
    type: 'string',
    description:
      "The SCM integration id (`auth_integration_uuid`) used to create the link. Default: your integration whose URL is the source's host.",
  }),
  input({
    name: 'branch',
    type: 'string',
    description:
      "The branch the link follows and that deploys deploy. Default: the link's branch (a new link follows the pushed branch).",
  }),
  input({
    name: 'deploy-branch',
    type: 'string',
    description:
      "The branch that `command: deploy` and manual or scheduled runs deploy, once, without changing the branch the link follows (`branch`). Default: `branch`, else the run's branch.",
  }),
  input({
    name: 'auto-deploy',
    type: 'boolean',
    description:
      'Link setting `auto_deploy_enabled`: Scalingo deploys the branch on every push by itself. Empty: left as it is.',
  }),
  input({
    name: 'review-apps',
    type: 'boolean',
    description:
      'Link setting `deploy_review_apps_enabled`: Scalingo creates review apps for pull requests by itself. Empty: left as it is.',
  }),
  input({
    name: 'review-apps-from-forks',
    type: 'boolean',
    description: 'Link setting `automatic_creation_from_forks_allowed`. Empty: left as it is.',
  }),
  input({
    name: 'delete-on-close',
    type: 'boolean',
    description:
      'Link setting `delete_on_close_enabled`: delete a review app when its pull request is closed. Empty: left as it is.',
  }),
  input({
    name: 'hours-before-delete-on-close',
    type: 'integer',
    description: 'Link setting `hours_before_delete_on_close` (non-negative integer). Empty: left as it is.',
  }),
  input({
    name: 'delete-stale',
    type: 'boolean',
    description:
      'Link setting `delete_stale_enabled`: delete review apps with no deploy for a while. Empty: left as it is.',
  }),
  input({
    name: 'hours-before-delete-stale',
    type: 'integer',
    description: 'Link setting `hours_before_delete_stale` (non-negative integer). Empty: left as it is.',
  }),
  input({
    name: 'pull-request',
    type: 'integer',
    description: 'Pull request (GitLab: merge request IID) number for `command: review-app`. Default: from the event.',
  }),
  input({
    name: 'review-app-auto-deploy',
    type: 'boolean',
    default: 'false',
    description:
      "The review app's own link setting `auto_deploy_enabled`, set when the step creates or redeploys a review app. `false`: only this step deploys it; `true`: Scalingo also deploys every push by itself once the checks pass.",
  }),
  input({
    name: 'review-app-label',
    type: 'string',
    description:
      'When set, a pull request gets a review app only once it carries this label (adding it creates the review app; later pushes redeploy it while the label stays). Empty: every pull request gets one.',
  }),
  input({
    name: 'review-app-drafts',
    type: 'boolean',
    default: 'true',
    description: '`false`: a draft pull request gets no review app until it is marked ready for review.',
  }),
  input({
    name: 'fail-on-newer-commit',
    type: 'boolean',
    default: 'false',
    description:
      "Fail when a review app built a newer commit than the pull request's head this run was started for: Scalingo deploys the branch's head, so a push after the run started (after a maintainer's label, for a pull request from a fork) is deployed unreviewed. `false`: a warning in that case, for a labelled pull request from a fork.",
  }),
  input({
    name: 'wait',
    type: 'boolean',
    default: 'true',
    description: 'Follow the deployment to its end and fail when it fails.',
  }),
  input({
    name: 'timeout-minutes',
    type: 'number',
    default: '30',
    description:
      'Deadline of the whole run, following included (decimals allowed). Scalingo lets a build run 30 minutes, plus the time it waits in the queue.',
  }),
  input({
    name: 'poll-interval-seconds',
    type: 'number',
    default: '5',
    description:
      'Time between two deployment status requests while no live stream is used (`logs: false`, or the stream unavailable): at least 1 (Scalingo allows 60 requests a minute), decimals allowed.',
  }),
  input({
    name: 'logs',
    type: 'boolean',
    default: 'true',
    description:
      "Print the build output live while following, from Scalingo's deployments stream, and notice the end at once; status requests then come every 30 s only. `false`: no live output, status requests every `poll-interval-seconds`, the end of the output on failure.",
  }),
  input({
    name: 'request-timeout-seconds',
    type: 'number',
    default: '30',
    description:
      "Timeout of one API request (Scalingo; GitHub for the comment and deployments); failed reads are retried with backoff within the run's deadline.",
  }),
  input({
    name: 'dry-run',
    type: 'boolean',
    default: 'false',
    description:
      'Only read: print the plan (link changes, the deploy or review app it would trigger) and change nothing.',
  }),
  input({
    name: 'fail-without-token',
    type: 'boolean',
    default: 'false',
    description:
      'Fail instead of skipping when a pull request from a fork runs without the token (forks get no secrets).',
  }),
  input({
    name: 'github-token',
    type: 'secret',
    default: '${{ github.token }}',
    env: 'GITHUB_TOKEN',
    platforms: ['github'],
    description:
      'Token for the pull request comment and GitHub deployments (needs `pull-requests: write`, `deployments: write`).',
  }),
  input({
    name: 'comment',
    type: 'boolean',
    default: 'true',
    platforms: ['github'],
    description: 'Keep one comment per app on the pull request up to date with the review app URL and status.',
  }),
  input({
    name: 'github-deployment',
    type: 'boolean',
    default: 'false',
    platforms: ['github'],
    description:
      'Record a GitHub deployment (environment: `environment`; transient for review apps) with its status and URL.',
  }),
  input({
    name: 'environment',
    type: 'string',
    platforms: ['github'],
    description:
      'GitHub deployment environment name. Default: the app name (review apps: the review app name). With several apps, a prefix: `<environment>/<app>`.',
  }),
];

/** How a face names its inputs in the messages it prints. */
export interface InputNames {
  /** An input, as its user writes it: `timeout-minutes` in a workflow, `--timeout-minutes` on the command line. */
  name(input: string): string;
  /** An input set to a value: `auto-deploy: false` in a workflow, `--auto-deploy=false` on the command line. */
  setting(input: string, value: string): string;
  /** What an error about the input is about: "Input `app`" in a workflow; "--app" or "SCALINGO_APP" on the command line. */
  subject(input: string): string;
}

/** The table's own names, as a workflow (action.yml's `with:`) writes them. */
export const WORKFLOW_NAMES: InputNames = {
  name: (input) => input,
  setting: (input, value) => `${input}: ${value}`,
  subject: (input) => `Input \`${input}\``,
};

export function inputSpec(name: string): InputSpec {
  const spec = INPUTS.find((i) => i.name === name);
  if (!spec) throw new Error(`unknown input ${name}`);
  return spec;
}

export const OUTPUTS = [
  { name: 'app', description: 'The app that was deployed: the parent app, or the review app on pull requests.' },
  { name: 'app-url', description: 'URL of that app (`url`, else `base_url`).' },
  { name: 'deployment-id', description: 'Scalingo deployment id.' },
  {
    name: 'deployment-status',
    description: 'Final Scalingo deployment status (`success`, `build-error`, ...), or the last one seen.',
  },
  { name: 'review-app', description: 'Review app name, on pull requests.' },
  {
    name: 'link',
    description:
      '`created`, `updated`, `unchanged` or `deleted` (dry run: `would-create`, `would-update`, `would-delete`).',
  },
  { name: 'timed-out', description: '`true` when the deadline passed before the deployment ended.' },
  { name: 'dashboard-url', description: 'Link to the deployment (or the app) in the Scalingo dashboard.' },
  {
    name: 'git-ref',
    description:
      "The commit the deployment built: the head of the branch when Scalingo started it, which may be newer than the run's commit.",
  },
  {
    name: 'apps',
    description:
      'JSON array, one object per app of the step (several apps, or found through their links): `app`, `review-app`, `app-url`, `deployment-id`, `deployment-status`, `link`, `git-ref`, `timed-out`. The outputs above are those of the app when there is exactly one, else empty.',
  },
] as const;

export type OutputName = (typeof OUTPUTS)[number]['name'];
