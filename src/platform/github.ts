/** The GitHub Action's edge: inputs, masking, log groups, outputs, job summary, PR comment, deployments. */
import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { describeSettings, parseBoolean, parseSettings, type Settings } from '../core/settings.js';
import { inputSpec, OUTPUTS } from '../core/inputs.js';
import { reportOutputs, run, type RunReport } from '../core/run.js';
import { renderMarkdown } from '../core/report.js';
import type { Logger } from '../core/log.js';
import type { CiContext } from '../core/event.js';
import { githubContext, type GitHubPayload } from './github-event.js';
import { GitHubFeatures } from './github-features.js';
import { cancellation } from './signals.js';
import { lowerPeakMemory } from './runtime.js';
import { VERSION } from '../version.js';

function rawInput(name: string): string | undefined {
  const value = core.getInput(name);
  if (value !== '') return value;
  const spec = inputSpec(name);
  return spec.envFallback ? process.env[spec.env] : undefined;
}

function readPayload(path: string | undefined): GitHubPayload {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as GitHubPayload;
  } catch {
    return {};
  }
}

export const githubLogger: Logger = {
  info: (line) => core.info(line),
  warning: (line, title) => core.warning(line, title ? { title } : {}),
  debug: (line) => core.debug(line),
  group: (title, fn) => core.group(title, fn),
};

function githubFlag(name: string, fallback: boolean): boolean {
  const v = core.getInput(name);
  return v === '' ? fallback : parseBoolean(name, v);
}

export async function runAction(): Promise<void> {
  // Masked before anything else can print it.
  const token = rawInput('api-token');
  if (token) core.setSecret(token);
  const githubToken = core.getInput('github-token') || process.env.GITHUB_TOKEN || '';
  if (githubToken) core.setSecret(githubToken);

  const ctx = githubContext(process.env, readPayload(process.env.GITHUB_EVENT_PATH));
  let settings: Settings;
  let features: GitHubFeatures;
  try {
    settings = parseSettings(rawInput, ctx.repositoryUrl ? { source: ctx.repositoryUrl } : {});
    features = new GitHubFeatures({
      token: githubToken,
      comment: githubFlag('comment', true),
      deployment: githubFlag('github-deployment', false),
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
