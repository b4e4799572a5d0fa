/** The command line's reading of flags, SCALINGO_* variables and GitLab's variables: the same settings as the action. */
import { describe, expect, it } from 'vitest';
import { helpText, parseArgs, UsageError } from '../../src/platform/cli/args.js';
import { resolveCli } from '../../src/platform/cli/cli.js';
import { dotenv } from '../../src/platform/cli/dotenv.js';
import { cliNames } from '../../src/platform/cli/names.js';
import { parseSettings } from '../../src/core/settings.js';
import { INPUTS } from '../../src/core/inputs.js';
import type { AppReport, StepReport } from '../../src/core/report.js';

const GITLAB = {
  GITLAB_CI: 'true',
  CI_PROJECT_URL: 'https://gitlab.example.com/acme/shop',
  CI_SERVER_URL: 'https://gitlab.example.com',
  CI_COMMIT_SHA: 'c0ffee',
  SCALINGO_API_TOKEN: 'tk-us-test-0123456789abcdef',
};

describe('parseArgs', () => {
  it('reads --name value, --name=value, bare booleans and --no-name', () => {
    const p = parseArgs([
      '--app',
      'my-app',
      '--branch=main',
      '--auto-deploy',
      '--no-review-apps',
      '--wait',
      'false',
      '--dry-run',
    ]);
    expect(Object.fromEntries(p.flags)).toEqual({
      app: 'my-app',
      branch: 'main',
      'auto-deploy': 'true',
      'review-apps': 'false',
      wait: 'false',
      'dry-run': 'true',
    });
  });

  it('reads --dotenv FILE and --no-dotenv, --help and --version', () => {
    expect(parseArgs(['--dotenv', 'out.env']).dotenv).toBe('out.env');
    expect(parseArgs(['--no-dotenv']).dotenv).toBe(false);
    // `false` means no file, not a file named `false`.
    expect(parseArgs(['--dotenv=false']).dotenv).toBe(false);
    expect(parseArgs(['--dotenv', 'FALSE']).dotenv).toBe(false);
    expect(parseArgs(['-h']).help).toBe(true);
    expect(parseArgs(['--version']).version).toBe(true);
  });

  it.each([
    [['--api-token', 'x'], '--api-token is not a flag'],
    [['--github-token=x'], '--github-token is not a flag'],
    [['--nope'], 'unknown flag --nope'],
    [['--no-app'], 'unknown flag --no-app'],
    [['--branch'], '--branch needs a value'],
    [['stray'], 'unexpected argument at position 1 (5 characters)'],
  ])('refuses %j', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });
});

describe('resolveCli', () => {
  it('gives the same settings as the action for the same inputs (flags, then SCALINGO_* variables)', () => {
    const inputs = {
      app: 'my-app',
      branch: 'main',
      'auto-deploy': 'false',
      'hours-before-delete-stale': '48',
      'timeout-minutes': '2',
    };
    const fromAction = parseSettings((n) => ({ ...inputs, 'api-token': GITLAB.SCALINGO_API_TOKEN })[n], {
      source: GITLAB.CI_PROJECT_URL,
    });
    const { settings } = resolveCli(parseArgs(['--app', 'my-app', '--branch', 'main', '--no-auto-deploy']), {
      ...GITLAB,
      CI_PIPELINE_SOURCE: 'push',
      CI_COMMIT_BRANCH: 'main',
      SCALINGO_HOURS_BEFORE_DELETE_STALE: '48',
      SCALINGO_TIMEOUT_MINUTES: '2',
      SCALINGO_BRANCH: 'ignored-flag-wins',
    });
    expect(settings).toEqual(fromAction);
  });

  it('reads every input from its SCALINGO_* variable', () => {
    for (const input of INPUTS.filter((i) => i.platforms.includes('cli') && i.type !== 'secret')) {
      expect(input.env).toBe(`SCALINGO_${input.name.toUpperCase().replace(/-/g, '_')}`);
    }
  });

  it('reads a GitLab merge request pipeline into a pull request event, CI_PROJECT_URL as source', () => {
    const { settings, ctx, dotenv } = resolveCli(parseArgs(['--app', 'my-app']), {
      ...GITLAB,
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '12',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
    });
    expect(settings.source).toBe('https://gitlab.example.com/acme/shop');
    expect(ctx).toMatchObject({
      platform: 'gitlab',
      serverUrl: 'https://gitlab.example.com',
      event: { kind: 'pull-request', pr: { number: 12, headBranch: 'feature' } },
    });
    expect(dotenv).toBe('scalingo.env');
  });

  it('outside any CI, requires --command, and writes no dotenv unless asked', () => {
    expect(() => resolveCli(parseArgs(['--app', 'my-app']), {})).toThrow(
      'outside a CI run there is no event to decide from',
    );
    expect(resolveCli(parseArgs(['--app', 'my-app', '--command', 'link']), {}).dotenv).toBe(false);
  });
});

describe("the command line's words", () => {
  it('names inputs as flags, and an input error after what the user set: the flag, else the variable', () => {
    const names = cliNames(new Map([['branch', 'main']]), { SCALINGO_REGION: 'x', SCALINGO_BRANCH: 'ignored' });
    expect(names.name('auto-deploy')).toBe('--auto-deploy');
    expect(names.setting('auto-deploy', 'false')).toBe('--auto-deploy=false');
    expect(names.subject('branch')).toBe('--branch');
    expect(names.subject('region')).toBe('SCALINGO_REGION');
    expect(names.subject('app')).toBe('--app');
    // The token is never a flag.
    expect(names.name('api-token')).toBe('SCALINGO_API_TOKEN');
    expect(names.subject('api-token')).toBe('SCALINGO_API_TOKEN');
  });

  it("says a missing app in flags and variables, not in the action's inputs", () => {
    expect(() => resolveCli(parseArgs(['--command', 'link']), {})).toThrow(
      '--app is missing: required: the Scalingo app name (--app or SCALINGO_APP).',
    );
  });

  it("gives the core the CI's words with the command line's names: merge request !12, --branch", () => {
    const { ctx } = resolveCli(parseArgs(['--app', 'my-app']), {
      ...GITLAB,
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '12',
    });
    expect(ctx.terms.pr(12)).toBe('merge request !12');
    expect(ctx.terms.name('branch')).toBe('--branch');
    expect(ctx.terms.secretsHint).toContain('masked CI/CD variable');
  });
});

describe('help and dotenv', () => {
  it('lists every flag with its environment variable', () => {
    const help = helpText();
    for (const input of INPUTS.filter((i) => i.platforms.includes('cli') && i.type !== 'secret')) {
      expect(help).toMatch(new RegExp(`--(\\[no-\\])?${input.name}\\b.*env ${input.env}`));
    }
    expect(help).toContain('SCALINGO_API_TOKEN (required)');
  });

  it('writes the documented variables on one line each, the apps as one JSON line', () => {
    const app = {
      ok: true,
      outcome: 'success',
      message: 'x\ny',
      parentApp: 'my-app',
      region: 'osc-fr1',
      event: 'push',
      timedOut: false,
      notes: [],
      warnings: [],
      requests: 5,
      durationMs: 1,
      app: 'my-app',
      appUrl: 'https://my-app.osc-fr1.scalingo.io',
      link: { result: 'unchanged', changes: [] },
      deployment: { app: 'my-app', id: 'd-1', status: 'success', startedAt: 0 },
    } satisfies AppReport;
    const report: StepReport = {
      ok: true,
      outcome: 'success',
      message: 'x\ny',
      event: 'push',
      region: 'osc-fr1',
      dryRun: false,
      runs: [app],
      warnings: [],
      requests: 5,
      durationMs: 1,
    };
    expect(dotenv(report)).toBe(
      [
        'SCALINGO_APP=my-app',
        'SCALINGO_APP_URL=https://my-app.osc-fr1.scalingo.io',
        'SCALINGO_DEPLOYMENT_ID=d-1',
        'SCALINGO_DEPLOYMENT_STATUS=success',
        'SCALINGO_REVIEW_APP=',
        'SCALINGO_LINK=unchanged',
        'SCALINGO_TIMED_OUT=false',
        'SCALINGO_DASHBOARD_URL=',
        'SCALINGO_GIT_REF=',
        'SCALINGO_APPS=[{"app":"my-app","review-app":"","app-url":"https://my-app.osc-fr1.scalingo.io","deployment-id":"d-1","deployment-status":"success","link":"unchanged","git-ref":"","timed-out":false}]',
        '',
      ].join('\n'),
    );
  });
});
