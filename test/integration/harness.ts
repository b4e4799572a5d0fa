/**
 * The core's step (`runStep`, the only entry of the core) called in-process, as each edge calls it, against the fake
 * Scalingo over real sockets on 127.0.0.1. Settings come from the one settings parser, the CI context from the
 * platform's own builder, and every log line, warning and the report are kept for the assertions. After each test,
 * everything a step produced is scanned for the API token, every bearer the fake issued and their Basic encoding.
 *
 * Imports of the product go through this file only, so that a moved module is fixed in one place.
 */
import { afterEach, expect } from 'vitest';
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { fastInputs, secretsOf, type Fake, type FakeOptions } from '../support/requests.js';
import { leaks } from '../support/runner.js';
import { runStep } from '../../src/core/step.js';
import { outputs, type AppReport, type StepReport } from '../../src/core/report.js';
import type { DeploymentEvent, Tuning } from '../../src/core/session.js';
import { parseSettings } from '../../src/core/settings.js';
import { CancelledError } from '../../src/core/errors.js';
import { githubContext, type GitHubPayload } from '../../src/platform/github/event.js';
import { gitlabContext } from '../../src/platform/gitlab/event.js';

export {
  calls,
  IN_STEP_LINK,
  pollsOf,
  REPO,
  requestsOf,
  secretsOf,
  sortedCalls,
  TOKEN,
  writes,
  type Fake,
  type FakeOptions,
} from '../support/requests.js';
export type { AppReport, StepReport };

type CiContext = Parameters<typeof runStep>[1];

/** The GitHub runner's variables for a run of this repository (as test/support/runner.js sets them). */
export function githubEnv(event: string, ref: string): Record<string, string> {
  return {
    GITHUB_EVENT_NAME: event,
    GITHUB_REF: ref,
    GITHUB_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    GITHUB_REPOSITORY: 'Codertocat/Hello-World',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1234',
  };
}

export function onGitHub(event: string, ref: string, payload: Record<string, unknown>): CiContext {
  return githubContext(githubEnv(event, ref), payload as GitHubPayload);
}

export function onGitLab(env: Record<string, string>): CiContext {
  return gitlabContext(env);
}

export interface InProcessRun {
  ctx: CiContext;
  inputs?: Record<string, string | undefined>;
  /** Aborts the step (as SIGTERM does at the edges) when a log line matches. */
  abortWhen?: RegExp;
  /** The step's timings and limits, scaled for the test. */
  deps?: Tuning;
}

export interface StepResult {
  step: StepReport;
  /** The outputs every edge sets from the report. */
  outputs: Record<string, string>;
  /** Every line the core logged: `info` as is, `warning: [title] line`, `debug: line`, `group: title`. */
  log: string;
  lines: string[];
  /** Warnings as the GitHub edge shows them: `title::line`. */
  warnings: string[];
  /** What the core told the edge to mask. */
  secrets: string[];
  started: DeploymentEvent[];
}

/** A step of one app: its app's report besides the step's. */
export interface InProcessResult extends StepResult {
  report: AppReport;
}

export interface World {
  fake: Fake;
  /** The step as the edges run it: one app, several, or the apps found through the links. */
  step(r: InProcessRun): Promise<StepResult>;
  /** The same step, for one app: its report. */
  run(r: InProcessRun): Promise<InProcessResult>;
}

let fakes: Fake[] = [];
let produced: string[] = [];

afterEach(async () => {
  try {
    for (const text of produced) {
      expect(leaks(text, fakes.flatMap(secretsOf)), 'a credential was printed').toEqual([]);
    }
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
    fakes = [];
    produced = [];
  }
});

/** Fast settings: polls every 20 ms, a one-minute deadline. */
export function defaultInputs(fake: Fake): Record<string, string> {
  return fastInputs(fake, '0.02');
}

export async function world(options: FakeOptions = {}): Promise<World> {
  const fake = await startFakeScalingo(options);
  fakes.push(fake);
  const step = async ({ ctx, inputs, abortWhen, deps }: InProcessRun): Promise<StepResult> => {
    const all: Record<string, string | undefined> = { ...defaultInputs(fake), ...inputs };
    const settings = parseSettings((name) => all[name], ctx.repositoryUrl ? { source: ctx.repositoryUrl } : {});
    const lines: string[] = [];
    const warnings: string[] = [];
    const secrets: string[] = [];
    const started: DeploymentEvent[] = [];
    const controller = new AbortController();
    const push = (line: string): void => {
      lines.push(line);
      if (abortWhen?.test(line) && !controller.signal.aborted) controller.abort(new CancelledError('SIGTERM'));
    };
    const report = await runStep(settings, ctx, {
      log: {
        info: (line) => push(line),
        warning: (line, title) => {
          warnings.push(`${title ?? ''}::${line}`);
          push(`warning: ${title ? `[${title}] ` : ''}${line}`);
        },
        debug: (line) => push(`debug: ${line}`),
        group: async (title, fn) => {
          push(`group: ${title}`);
          return fn();
        },
      },
      userAgent: 'scalingo-deploy/0.0.0 (integration)',
      onSecret: (s) => secrets.push(s),
      hooks: { deploymentStarted: async (e) => void started.push(e) },
      signal: controller.signal,
      ...(deps ? { tuning: deps } : {}),
    });
    const log = lines.join('\n');
    produced.push(log, JSON.stringify(report), ...started.map((e) => JSON.stringify(e)));
    // A credential given to the core must be one it told the edge to mask.
    if (all['api-token']) expect(secrets).toContain(all['api-token']);
    return { step: report, outputs: outputs(report), log, lines, warnings, secrets, started };
  };
  return {
    fake,
    step,
    async run(r) {
      const result = await step(r);
      const [report] = result.step.runs;
      if (!report || result.step.runs.length !== 1)
        throw new Error(`a step of one app gave ${result.step.runs.length} app report(s)`);
      return { ...result, report };
    },
  };
}
