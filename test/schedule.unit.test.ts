/** The lifecycle's timing decisions (workflows/schedule.ts), as the pure functions the workflow calls. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SYNC_INTERVAL_MINUTES } from '../workflows/config';
import {
  ATTENTION_BACKOFF_MS,
  CONSENT_LINK_REFRESH_BEFORE_MS,
  CONSENT_PROBE_INTERVAL_MS,
  REMINT_BEFORE_EXPIRY_MS,
  SNAPSHOT_RETRY_MS,
  SYNC_JITTER,
  attentionBackoffMs,
  consentLinkRefreshInMs,
  remintAt,
  syncDelayMs,
} from '../workflows/schedule';

const MINUTE = 60_000;
const NOW = Date.parse('2026-06-24T12:00:00Z');

describe('schedule', () => {
  test('the documented intervals', () => {
    assert.equal(REMINT_BEFORE_EXPIRY_MS, 10 * MINUTE);
    assert.equal(CONSENT_PROBE_INTERVAL_MS, 15 * MINUTE);
    assert.equal(CONSENT_LINK_REFRESH_BEFORE_MS, 30 * MINUTE, 'twice the probe interval');
    assert.equal(SNAPSHOT_RETRY_MS, 60 * MINUTE);
    assert.deepEqual(ATTENTION_BACKOFF_MS, { initial: 5 * MINUTE, max: 360 * MINUTE });
    assert.equal(SYNC_JITTER, 0.1);
    assert.equal(DEFAULT_SYNC_INTERVAL_MINUTES, 60);
  });

  test('needs_attention backoff: 5 minutes, doubling, at most 6 hours', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 30].map((n) => attentionBackoffMs(n) / MINUTE),
      [5, 10, 20, 40, 80, 160, 320, 360, 360],
    );
  });

  test('the next sync: the interval plus up to 10 % of it, never earlier', () => {
    assert.equal(syncDelayMs({}, 0), 60 * MINUTE);
    assert.equal(syncDelayMs({}, 1), 66 * MINUTE);
    assert.equal(syncDelayMs({}, 0.5), 63 * MINUTE);
    assert.equal(syncDelayMs({ syncIntervalMinutes: 15 }, 0), 15 * MINUTE);
    assert.equal(syncDelayMs({ syncIntervalMinutes: 15 }, 1), 16.5 * MINUTE);
    assert.equal(syncDelayMs({ syncIntervalMinutes: 1 }, 0.123456), 60_741, 'whole milliseconds');
  });

  test('a consent link is rebuilt 30 minutes before its state expires; one without an expiry never', () => {
    assert.equal(consentLinkRefreshInMs(undefined, NOW), undefined);
    assert.equal(consentLinkRefreshInMs(new Date(NOW + 2 * 60 * MINUTE).toISOString(), NOW), 90 * MINUTE);
    assert.equal(consentLinkRefreshInMs(new Date(NOW + 30 * MINUTE).toISOString(), NOW), 0, 'due now');
    assert.equal(consentLinkRefreshInMs(new Date(NOW + 10 * MINUTE).toISOString(), NOW), -20 * MINUTE, 'overdue');
  });

  test('a token is re-minted 10 minutes before it expires; without one, now', () => {
    assert.equal(remintAt({ expiresAt: new Date(NOW + 60 * MINUTE).toISOString() }, NOW), NOW + 50 * MINUTE);
    assert.equal(remintAt({ expiresAt: new Date(NOW + 5 * MINUTE).toISOString() }, NOW), NOW - 5 * MINUTE);
    assert.equal(remintAt(undefined, NOW), NOW);
  });
});
