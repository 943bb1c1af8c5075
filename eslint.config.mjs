// Lint for src/, tools/, test/, bench/ and examples/ (part of `npm test`): typescript-eslint's
// recommended rules without type information (fast enough to run on every test run), and the
// project's few choices below, each with its reason.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // `_`-prefixed names are deliberate: parameters kept for a signature.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Exporters and optional packages are loaded on demand (a process uses one; jest's sandbox
      // refuses dynamic import()): src/telemetry/start-telemetry.ts.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^@opentelemetry/', '^@azure/'] }],
      // `let x;` assigned once later is how a closure made before it (a callback) sees it.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests and benchmarks read servers' JSON answers and poke at wire formats: `any` is the
    // honest type there. The shipped code (src/) keeps the rule.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.cjs', '**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
