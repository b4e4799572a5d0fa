/**
 * Process-wide tuning that both edges apply right before the run starts.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. On first use V8 also compiles it with its optimising
 * compiler, which on Node 20 adds about 30 MB to the peak memory of a run that reads a few dozen small responses.
 * V8's baseline compiler alone (Liftoff) parses them just as well for this load. The flag is set after start-up,
 * not at import: a V8 flag change invalidates Node's code cache for the modules compiled after it, which cost
 * about 20 ms of start-up when set first thing. Both figures are measured by `npm run bench`.
 */
import { setFlagsFromString } from 'node:v8';

export function lowerPeakMemory(): void {
  setFlagsFromString('--liftoff-only');
}
