/**
 * The source's import graph, checked in CI (`npm run deps`): no cycle, type-only imports included; the layering, as
 * the lint rules say it too (eslint.config.js): the API layer imports nothing of the core nor of the platforms, the
 * core nothing of the platforms.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'A cycle makes two modules one: split out what both need.',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'api-layer-alone',
      severity: 'error',
      comment: 'src/scalingo is the Scalingo API alone: it knows nothing of the core or of CI platforms.',
      from: { path: '^src/scalingo' },
      to: { path: '^src/(core|platform)' },
    },
    {
      name: 'core-without-platforms',
      severity: 'error',
      comment: 'The core serves every platform: it never imports one.',
      from: { path: '^src/core' },
      to: { path: '^src/platform|node_modules/@actions' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
