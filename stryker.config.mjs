// @ts-check
/**
 * Mutation testing (`npm run mutation`, never part of `npm test`): the sync's, the token service's and the DocuSign
 * client's decisions, and the workflow's pure timing and summary helpers, against the fast unit tests only (no
 * Temporal server, no emulator process: each file runs in milliseconds). The TAP runner runs each test file as its
 * own node process (`node --import tsx <file>`); coverage per file picks which files a mutant needs.
 */
const UNIT_TESTS = [
  'test/sync.unit.test.ts',
  'test/sync-progress.unit.test.ts',
  'test/tokens.unit.test.ts',
  'test/docusign-errors.unit.test.ts',
  'test/docusign-client.unit.test.ts',
  'test/docusign-shapes.test.ts',
  'test/schedule.unit.test.ts',
  'test/summary.unit.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: { testFiles: UNIT_TESTS, nodeArgs: ['--import', 'tsx'], forceBail: true },
  mutate: [
    'activities/sync.ts',
    'activities/sync-progress.ts',
    'activities/tokens.ts',
    'activities/docusign.ts',
    'workflows/schedule.ts',
    'workflows/summary.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['.tools', 'data', 'dist', 'reports', 'bench/results', 'scratch'],
  thresholds: { high: 90, low: 85, break: null },
};
