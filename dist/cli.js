#!/usr/bin/env node
// The npm package's command: runs the bundled core (dist/index.js) as the command line.
globalThis[Symbol.for('scalingo-deploy.entry')] = 'cli';
await import('./index.js');
