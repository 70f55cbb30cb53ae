import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' },
    },
  },
  // Each layer imports only the layers below it (README, Development): core nothing of ours; docker and
  // discovery core only; control core and discovery; metrics and webhooks core only (and prom-client for
  // metrics); cli composes them all. Backends are swapped in cli.
  ...fence('src/core/**/*.ts', ['docker', 'discovery', 'control', 'metrics', 'webhooks', 'cli'], ['dockerode', 'commander', 'chalk', 'ora', 'prom-client']),
  ...fence('src/docker/**/*.ts', ['discovery', 'control', 'metrics', 'webhooks', 'cli'], ['commander', 'chalk', 'ora', 'prom-client']),
  ...fence('src/discovery/**/*.ts', ['docker', 'control', 'metrics', 'webhooks', 'cli'], ['dockerode', 'commander', 'chalk', 'ora', 'prom-client']),
  ...fence('src/control/**/*.ts', ['docker', 'metrics', 'webhooks', 'cli'], ['dockerode', 'commander', 'chalk', 'ora', 'prom-client']),
  ...fence('src/metrics/**/*.ts', ['docker', 'discovery', 'control', 'webhooks', 'cli'], ['dockerode', 'commander', 'chalk', 'ora']),
  ...fence('src/webhooks/**/*.ts', ['docker', 'discovery', 'control', 'metrics', 'cli'], ['dockerode', 'commander', 'chalk', 'ora', 'prom-client']),
);

/** A lint rule that keeps the files in `files` from importing the given layers (folders of src) and packages. */
function fence(files, layers, packages) {
  const message = `this layer may not import ${[...layers.map((l) => `src/${l}`), ...packages].join(', ')}`;
  return [
    {
      files: [files],
      rules: {
        'no-restricted-imports': ['error', { patterns: [{ group: [...layers.map((layer) => `**/${layer}/*`), ...packages], message }] }],
      },
    },
  ];
}
