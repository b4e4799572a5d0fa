/** The GitHub Action's edge: inputs, masking, log groups, outputs, job summary, PR comment, deployments. */
import * as core from '@actions/core';
import { describeSettings, parseBoolean, parseSettings, type Settings } from '../../core/settings.js';
import { inputSpec, OUTPUTS } from '../../core/inputs.js';
import { reportOutputs, run, type RunReport } from '../../core/run.js';
import { renderMarkdown } from '../../core/render.js';
import type { Logger } from '../../core/log.js';
import type { CiContext } from '../../core/event.js';
import { githubContextFromEnv } from './event.js';
import { GitHubFeatures } from './features.js';
import { cancellation } from '../signals.js';
import { lowerPeakMemory } from '../runtime.js';
import { VERSION } from '../../version.js';

function rawInput(name: string): string | undefined {
  const value = core.getInput(name);
  if (value !== '') return value;
  const spec = inputSpec(name);
  return spec.envFallback ? process.env[spec.env] : undefined;
}

export const githubLogger: Logger = {
  info: (line) => core.info(line),
  warning: (line, title) => core.warning(line, title ? { title } : {}),
  debug: (line) => core.debug(line),
  group: (title, fn) => core.group(title, fn),
};

function githubFlag(name: string): boolean {
  const v = core.getInput(name) || inputSpec(name).default;
  return v === undefined ? false : parseBoolean(name, v);
}

/** The action's entry: whatever happens, one `::error::` line at most, never a stack (the stack goes to debug). */
export async function runAction(): Promise<void> {
  try {
    await act();
  } catch (err) {
    core.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    core.setFailed(`Unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function act(): Promise<void> {
  // Masked before anything else can print it.
  const token = rawInput('api-token');
  if (token) core.setSecret(token);
  const githubToken = core.getInput('github-token') || process.env.GITHUB_TOKEN || '';
  if (githubToken) core.setSecret(githubToken);

  const ctx = githubContextFromEnv(process.env);
  let settings: Settings;
  let features: GitHubFeatures;
  try {
    settings = parseSettings(rawInput, ctx.repositoryUrl ? { source: ctx.repositoryUrl } : {});
    features = new GitHubFeatures({
      token: githubToken,
      comment: githubFlag('comment'),
      deployment: githubFlag('github-deployment'),
      environment: core.getInput('environment') || undefined,
      ctx,
      repository: process.env.GITHUB_REPOSITORY,
      dryRun: settings.dryRun,
      log: githubLogger,
      timeoutMs: settings.requestTimeoutMs,
    });
  } catch (err) {
    // Every output is set, empty, so that later steps read a known value.
    for (const { name } of OUTPUTS) core.setOutput(name, name === 'timed-out' ? 'false' : '');
    core.setFailed(err instanceof Error ? err.message : String(err));
    return;
  }
  logSettings(settings, ctx);

  lowerPeakMemory();
  const cancel = cancellation();
  let report: RunReport;
  try {
    report = await run(settings, ctx, {
      log: githubLogger,
      userAgent: `scalingo-deploy/${VERSION} (github-action)`,
      onSecret: (s) => core.setSecret(s),
      hooks: { deploymentStarted: (e) => features.started(e) },
      signal: cancel.signal,
    });
  } finally {
    cancel.dispose();
  }

  await features.finished(report);
  setOutputs(report);
  await writeSummary(report);
  if (!report.ok) core.setFailed(report.message);
}

function logSettings(settings: Settings, ctx: CiContext): void {
  core.debug(`settings: ${JSON.stringify(describeSettings(settings))}`);
  core.debug(`event: ${JSON.stringify(ctx.event)}`);
}

function setOutputs(report: RunReport): void {
  core.startGroup('Outputs');
  for (const [name, value] of Object.entries(reportOutputs(report))) {
    core.setOutput(name, value);
    core.info(`${name}=${value}`);
  }
  core.endGroup();
}

async function writeSummary(report: RunReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(renderMarkdown(report), true).write();
  } catch (err) {
    core.warning(`Job summary not written: ${err instanceof Error ? err.message : String(err)}`);
  }
}
