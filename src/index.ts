/**
 * The bundle's entry. GitHub's runner starts it as the action; the npm package's `bin` (dist/cli.js) marks the
 * process as the command line first, so both faces share one bundle and one core.
 */
import { runAction } from './platform/github/action.js';
import { runCli } from './platform/cli/cli.js';

const entry = (globalThis as Record<symbol, unknown>)[Symbol.for('scalingo-deploy.entry')];
if (entry === 'cli') {
  process.exitCode = await runCli(process.argv.slice(2), process.env);
} else {
  await runAction();
}
