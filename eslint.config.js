// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.gitlab-ci-local/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript (with checkJs) already knows every global; this rule only knows browsers'.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/core/**', 'src/scalingo/**'],
    rules: {
      // The core serves every platform: it never imports a platform's package.
      'no-restricted-imports': ['error', { patterns: [{ group: ['@actions/*'], message: 'The core is platform-free: platform code lives in src/platform/.' }] }],
    },
  },
);
