// @ts-check
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * Dependencies point one way: workflows ← activities ← worker ← client, with common/ (code the worker and its clients
 * share: consent state, HTTP listen, payload codec, failure converter, Temporal connection options) below the worker.
 * Product code never imports tests, benchmarks or scripts; the DocuSign emulator shares no code with the connector,
 * and only the demo (a product feature) runs it.
 */
const PRODUCT = ['workflows', 'activities', 'common', 'worker', 'client'];
const NOT_PRODUCT = ['test', 'bench', 'scripts'];
const layer = (target, mayNotImport, message) =>
  mayNotImport.map((from) => ({ target: `./${target}`, from: `./${from}`, message }));
const dependencyZones = [
  // (workflows/ may import activity *types*: the workflow rule below allows type imports only.)
  ...layer(
    'workflows',
    ['common', 'worker', 'client', 'emulator', ...NOT_PRODUCT],
    'workflows/ imports only workflows/.',
  ),
  ...layer(
    'activities',
    ['common', 'worker', 'client', 'emulator', ...NOT_PRODUCT],
    'activities/ imports only workflows/ and activities/.',
  ),
  ...layer(
    'common',
    ['activities', 'worker', 'client', 'emulator', ...NOT_PRODUCT],
    'common/ imports only workflows/ and common/.',
  ),
  ...layer(
    'worker',
    ['client', 'emulator', ...NOT_PRODUCT],
    'worker/ never imports client/, the emulator, tests or scripts.',
  ),
  ...layer(
    'client',
    ['emulator', ...NOT_PRODUCT],
    'client/ never imports tests, benchmarks or scripts; only the demo runs the emulator.',
  ),
  ...layer('emulator', PRODUCT, 'The emulator shares no code with the connector: each is written from the API facts.'),
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.tools/',
      'data/',
      'dist/',
      'bin/',
      'scratch/',
      '.stryker-tmp/',
      'reports/',
      'eslint.config.mjs',
      'stryker.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/require-await': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // .ts files must be parsed for no-cycle to follow them (the plugin's default is .js only).
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: dependencyZones }],
    },
  },
  {
    // The demo is the one product module that runs the emulator.
    files: ['client/demo.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        { zones: dependencyZones.filter((zone) => !(zone.target === './client' && zone.from === './emulator')) },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no activity implementations.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'Import activity types only.',
            },
            {
              group: ['got', 'pg', 'jose', 'pino', '@temporalio/activity', '@temporalio/client', '@temporalio/worker'],
              message: 'No I/O in workflows.',
            },
          ],
        },
      ],
    },
  },
);
