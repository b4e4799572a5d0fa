/** The GitHub Action's edge: inputs, masking, log groups, outputs, job summary, PR comment, deployments. */
import * as core from '@actions/core';
import { describeSettings, parseBoolean, parseSettings, type Settings } from '../../core/settings.js';
import { inputSpec } from '../../core/inputs.js';
import { noOutputs, outputs, type StepReport } from '../../core/report.js';
import { renderSummary } from '../../core/render.js';
import type { Logger } from '../../core/log.js';
import type { CiContext } from '../../core/event.js';
import { githubContextFromEnv } from './event.js';
import { GitHubFeatures } from './features.js';
import { checkSecretOutputs } from './secret-outputs.js';
import { launch } from '../launch.js';
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

  const ctx = githubContextFromEnv(process.env, (line) => core.warning(line));
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
      apps: settings.apps,
    });
  } catch (err) {
    // Every output is set, empty, so that later steps read a known value.
    writeOutputs(noOutputs(), false);
    core.setFailed(err instanceof Error ? err.message : String(err));
    return;
  }
  logSettings(settings, ctx);

  const report = await launch(settings, ctx, {
    log: githubLogger,
    userAgent: `scalingo-deploy/${VERSION} (github-action)`,
    onSecret: (s) => core.setSecret(s),
    hooks: { deploymentStarted: (e) => features.started(e) },
  });

  for (const r of report.runs) await features.finished(r);
  setOutputs(report);
  await writeSummary(report);
  if (!report.ok) core.setFailed(report.message);
}

function logSettings(settings: Settings, ctx: CiContext): void {
  core.debug(`settings: ${JSON.stringify(describeSettings(settings))}`);
  core.debug(`event: ${JSON.stringify(ctx.event)}`);
}

function setOutputs(report: StepReport): void {
  const values = outputs(report);
  // GitHub drops, without a word, the job outputs that contain a secret: said once when `app` is one.
  const dropped = checkSecretOutputs(
    process.env,
    values,
    report.runs.map((r) => r.parentApp),
  );
  if (dropped) core.warning(dropped, { title: 'Outputs dropped by GitHub' });
  core.startGroup('Outputs');
  writeOutputs(values, true);
  core.endGroup();
}

/**
 * Sets the outputs; a GITHUB_OUTPUT file that cannot be written gives one warning line, not a failure: the run's
 * verdict (a deploy that succeeded) stands.
 */
function writeOutputs(outputs: Record<string, string>, show: boolean): void {
  try {
    for (const [name, value] of Object.entries(outputs)) {
      core.setOutput(name, value);
      if (show) core.info(`${name}=${value}`);
    }
  } catch (err) {
    core.warning(
      `Outputs not written to GITHUB_OUTPUT (${process.env.GITHUB_OUTPUT ?? 'not set'}): ${oneLine(err)}. Later steps will not see them.`,
    );
  }
}

/** Why a file could not be written, in a few words (the path is said by the caller). */
function oneLine(err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  const text = e?.code ?? e?.message ?? String(err);
  if (/^Missing file at path/i.test(text)) return 'no such file';
  return text.split('\n')[0] ?? '';
}

async function writeSummary(report: StepReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(renderSummary(report), true).write();
  } catch (err) {
    core.warning(
      `Job summary not written to GITHUB_STEP_SUMMARY (${process.env.GITHUB_STEP_SUMMARY}): ${oneLine(err)}.`,
    );
  }
}
