// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.gitlab-ci-local/', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript (with checkJs) already knows every global; this rule only knows browsers'.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Type-aware rules, on the product's code: a switch on a union must handle every member (or say why not).
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      // The core serves every platform: it never imports a platform, nor a platform's package.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: 'The core is platform-free: platform code lives in src/platform/.' },
            {
              group: ['**/platform/*', '**/platform/**'],
              message: 'The core never imports a platform: platforms call the core (step.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/platform/**'],
    rules: {
      // A platform calls the core through its entry and its public modules, never into a phase of one app's run.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/core/phases/*', '**/core/app-run.js', '**/core/app-context.js'],
              message: 'Platforms run the core through runStep (core/step.ts), not its phases.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/scalingo/**'],
    rules: {
      // The API layer stands alone: the core uses it, never the other way round.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: 'The API layer is platform-free.' },
            {
              group: ['**/core/*', '**/core/**', '**/platform/*', '**/platform/**'],
              message: 'The API layer imports nothing from the core or the platforms.',
            },
          ],
        },
      ],
    },
  },
);
