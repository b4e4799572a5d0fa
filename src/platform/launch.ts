/**
 * What every face does around the core's step, written once: lower the peak memory, turn SIGINT/SIGTERM (a
 * cancelled workflow or job, Ctrl-C) into the step's cancellation, and let go of the signal handlers afterwards.
 */
import type { CiContext } from '../core/event.js';
import type { StepReport } from '../core/report.js';
import type { StepDeps } from '../core/session.js';
import type { Settings } from '../core/settings.js';
import { runStep } from '../core/step.js';
import { lowerPeakMemory } from './runtime.js';
import { cancellation } from './signals.js';

export async function launch(settings: Settings, ctx: CiContext, deps: Omit<StepDeps, 'signal'>): Promise<StepReport> {
  lowerPeakMemory();
  const cancel = cancellation();
  try {
    return await runStep(settings, ctx, { ...deps, signal: cancel.signal });
  } finally {
    cancel.dispose();
  }
}
