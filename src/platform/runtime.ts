/**
 * Process-wide tuning that both edges apply right before the run starts.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. On first use V8 also compiles it with its optimising
 * compiler (TurboFan), which adds about 30 MB to the peak memory of a run that reads a few dozen small responses.
 * V8's baseline compiler alone (Liftoff) parses them just as well for this load. Two flags, because V8 versions
 * differ:
 * - `--liftoff-only` keeps Node 20 (V8 11) on Liftoff;
 * - Node 24 (V8 13) ignores `--liftoff-only` set at run time, but honours the tier-up budget: one this large is
 *   never spent by a run, so llhttp stays on Liftoff there too. A push deploy on Node 24 peaks at about 70 MB with
 *   it, 85 to 90 MB without; Node 20 is unchanged (about 56 MB).
 * Both versions accept both flags (an unknown flag would print an error line on stderr). They are set after
 * start-up, not at import: a V8 flag change invalidates Node's code cache for the modules compiled after it, which
 * cost about 20 ms of start-up when set first thing. The figures are measured by `npm run bench` and `npm run bench:node24`.
 */
import { setFlagsFromString } from 'node:v8';

export function lowerPeakMemory(): void {
  setFlagsFromString('--liftoff-only --wasm-tiering-budget=2000000000');
}
