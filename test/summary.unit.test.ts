/** The Temporal UI's current details of a connection (workflows/summary.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERROR_HINTS } from '../workflows/errors';
import { evidenceLine } from '../workflows/evidence';
import type { ConnectionStatus } from '../workflows/messages';
import { currentDetailsOf } from '../workflows/summary';

const base: ConnectionStatus = {
  connectionId: 'acme',
  environment: 'demo',
  phase: 'awaiting_consent',
  totals: { envelopes: 0, syncs: 0 },
};

describe('currentDetailsOf', () => {
  test('a new connection: phase, environment and envelope count, and the consent URL', () => {
    assert.equal(
      currentDetailsOf({ ...base, consentUrl: 'https://account-d.docusign.com/oauth/auth?x=1' }),
      '**awaiting_consent** · demo · 0 envelopes\nconsent URL: https://account-d.docusign.com/oauth/auth?x=1',
    );
  });

  test('one envelope is singular', () => {
    assert.equal(
      currentDetailsOf({ ...base, phase: 'idle', totals: { envelopes: 1, syncs: 1 } }),
      '**idle** · demo · 1 envelope',
    );
  });

  test('idle after a sync: when it finished and the next sync', () => {
    const status: ConnectionStatus = {
      ...base,
      phase: 'idle',
      environment: 'production',
      totals: { envelopes: 1200, syncs: 3 },
      lastSync: {
        startedAt: '2026-06-24T11:00:00.000Z',
        finishedAt: '2026-06-24T11:00:09.000Z',
        envelopes: 4,
        cursor: 'c',
      },
      nextSyncAt: '2026-06-24T12:03:00.000Z',
    };
    assert.equal(
      currentDetailsOf(status),
      [
        '**idle** · production · 1200 envelopes',
        'last sync: 2026-06-24T11:00:09.000Z',
        'next sync: 2026-06-24T12:03:00.000Z',
      ].join('\n'),
    );
  });

  test('a sync in progress says since when', () => {
    const status: ConnectionStatus = {
      ...base,
      phase: 'syncing',
      lastSync: { startedAt: '2026-06-24T11:00:00.000Z', envelopes: 0, cursor: 'c' },
    };
    assert.match(currentDetailsOf(status), /\nlast sync: running since 2026-06-24T11:00:00\.000Z$/);
  });

  test('needs_attention: the error, its fix and the next retry', () => {
    const status: ConnectionStatus = {
      ...base,
      phase: 'needs_attention',
      lastError: {
        code: 'invalid_grant',
        message: 'DocuSign: invalid_grant (user_not_found)',
        hint: ERROR_HINTS.invalid_grant,
        at: 'x',
      },
      nextSyncAt: '2026-06-24T12:05:00.000Z',
    };
    assert.equal(
      currentDetailsOf(status),
      [
        '**needs_attention** · demo · 0 envelopes',
        'last error: invalid_grant: DocuSign: invalid_grant (user_not_found)',
        `fix: ${ERROR_HINTS.invalid_grant}`,
        'next retry: 2026-06-24T12:05:00.000Z',
      ].join('\n'),
    );
  });

  test('the evidence line, when there is evidence beside the envelopes', () => {
    const evidence: ConnectionStatus['evidence'] = { signedProof: { collected: 4, pending: 1, failed: 0 } };
    const line = evidenceLine(evidence);
    assert.ok(line);
    assert.equal(
      currentDetailsOf({ ...base, phase: 'idle', evidence }),
      `**idle** · demo · 0 envelopes\nevidence: ${line}`,
    );
    assert.equal(currentDetailsOf({ ...base, phase: 'idle', evidence: {} }), '**idle** · demo · 0 envelopes');
  });
});
