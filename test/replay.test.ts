/**
 * Determinism guard: histories recorded from real runs (test/fixtures/histories, written by the lifecycle e2e suite
 * with RECORD_HISTORIES=1) must replay against the current workflow code. A change to the command sequence of
 * `docusignConnection` fails here until it is made replay-safe (patched()) or the fixtures are re-recorded on purpose.
 * Histories of earlier workflow versions are kept in subfolders (e.g. before-sync-jitter/): running workflows started
 * under them must keep replaying.
 */
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { workflowCode } from './helpers/temporal';

const dir = path.join(__dirname, 'fixtures', 'histories');
const fixtures = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('replay of recorded histories', () => {
  test('fixtures exist', () => {
    assert.ok(fixtures.filter((f) => !f.includes(path.sep)).length >= 5, `expected current histories in ${dir}`);
    assert.ok(
      fixtures.filter((f) => f.includes(path.sep)).length >= 5,
      `expected earlier versions' histories in ${dir}`,
    );
  });
  for (const file of fixtures) {
    test(file, async () => {
      const history: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      await Worker.runReplayHistory({ ...(await workflowCode()) }, history, path.basename(file, '.json'));
    });
  }
});
