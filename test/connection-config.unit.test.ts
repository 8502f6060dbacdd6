/** differences (client/connection-config.ts): what `connect` on a running connection reports as not applied. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differences } from '../client/connection-config';
import type { ConnectionConfig } from '../workflows/config';

const running: ConnectionConfig = {
  connectionId: 'acme',
  environment: 'demo',
  integrationKey: '11111111-2222-4333-8444-555555555555',
  userId: '66666666-7777-4888-9999-000000000000',
  privateKeyRef: 'file:/keys/acme.pem',
  signedProof: { subjectContains: ['NDA'] },
};

test('every field is compared, the later ones (snapshot interval, signed-proof policy) too; policies by value', () => {
  assert.deepEqual(differences(running, { ...running, signedProof: { subjectContains: ['NDA'] } }), []);
  assert.deepEqual(
    differences(running, { ...running, snapshotIntervalHours: 48, signedProof: { subjectContains: ['MSA'] } }),
    ['snapshotIntervalHours', 'signedProof'],
  );
  assert.deepEqual(differences(running, { ...running, connectionId: 'other', syncIntervalMinutes: 120 }), [
    'syncIntervalMinutes',
  ]);
});
