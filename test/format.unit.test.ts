/** describeStatus (client/format.ts): the `status` command's readable summary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStatus } from '../client/format';
import type { ConnectionStatus } from '../workflows/messages';

test('every row keeps the value column; webhooks and proof are shown when there are any', () => {
  const status: ConnectionStatus = {
    connectionId: 'acme',
    environment: 'demo',
    phase: 'idle',
    totals: { envelopes: 270, syncs: 1 },
    evidence: { signedProof: { collected: 179, pending: 0, failed: 0 } },
    connectEvents: { received: 3, lastEventAt: '2026-12-02T01:29:22.415Z' },
  };
  const lines = describeStatus(status, Date.parse('2026-12-02T01:29:29.415Z'));
  assert.ok(
    lines.includes('webhooks    3 Connect events, the last at 2026-12-02T01:29:22.415Z (7 s ago)'),
    lines.join('\n'),
  );
  assert.ok(lines.includes('proof       179 collected, 0 pending, 0 failed'));
  for (const line of lines) assert.ok(line.length < 12 || line[11] === ' ', `a label overflows its column: ${line}`);

  const without = describeStatus({ ...status, connectEvents: undefined }, Date.now());
  assert.ok(!without.some((l) => l.startsWith('webhooks')));
});
