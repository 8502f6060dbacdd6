/** common/consent-state.ts: the HMAC-signed consent `state` (valid, forged, expired, malformed, missing). */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { signConsentState, verifyConsentState } from '../common/consent-state';

const SECRET = 'a-consent-state-secret-of-at-least-32-chars';
const OTHER_SECRET = 'another-secret-that-is-also-32-chars-long!';
const NOW = new Date('2026-11-29T12:00:00Z');
const inOneHour = new Date(NOW.getTime() + 3600_000);

const sign = (connectionId = 'acme-prod', expiresAt = inOneHour) =>
  signConsentState({ connectionId, expiresAt }, SECRET);
const b64url = (s: string) => Buffer.from(s).toString('base64url');
const macOf = (payload: string, secret = SECRET) => createHmac('sha256', secret).update(payload).digest('base64url');

void describe('consent state', () => {
  void test('valid: a state we signed verifies and names its connection', () => {
    const state = sign();
    assert.match(state, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe, two parts');
    const result = verifyConsentState(state, SECRET, NOW);
    assert.deepEqual(result, { ok: true, connectionId: 'acme-prod', expiresAt: inOneHour });
    assert.deepEqual(verifyConsentState(sign('c_2'), SECRET, NOW), {
      ok: true,
      connectionId: 'c_2',
      expiresAt: inOneHour,
    });
  });

  void test('forged: another secret, an edited payload, or an edited signature', () => {
    const state = sign();
    assert.deepEqual(verifyConsentState(state, OTHER_SECRET, NOW), { ok: false, reason: 'forged' });

    const [, signature] = state.split('.');
    const otherPayload = b64url(JSON.stringify({ c: 'victim', e: inOneHour.getTime() }));
    assert.deepEqual(verifyConsentState(`${otherPayload}.${signature}`, SECRET, NOW), { ok: false, reason: 'forged' });

    const laterPayload = b64url(JSON.stringify({ c: 'acme-prod', e: inOneHour.getTime() + 86400_000 * 365 }));
    assert.deepEqual(verifyConsentState(`${laterPayload}.${signature}`, SECRET, NOW), { ok: false, reason: 'forged' });

    const [payload] = state.split('.');
    const wrongMac = macOf(payload!, OTHER_SECRET);
    assert.deepEqual(verifyConsentState(`${payload}.${wrongMac}`, SECRET, NOW), { ok: false, reason: 'forged' });
  });

  void test('expired: genuine but at or past its expiry', () => {
    const state = sign('acme-prod', inOneHour);
    assert.equal(verifyConsentState(state, SECRET, new Date(inOneHour.getTime() - 1)).ok, true);
    assert.deepEqual(verifyConsentState(state, SECRET, inOneHour), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyConsentState(state, SECRET, new Date(inOneHour.getTime() + 86400_000)), {
      ok: false,
      reason: 'expired',
    });
  });

  void test('malformed: not the shape this module produces', () => {
    const state = sign();
    const [payload, signature] = state.split('.');
    const cases = [
      'garbage',
      `${state}.extra`,
      `.${signature}`,
      `${payload}.`,
      `${payload}.${signature!.slice(0, 20)}`, // MAC of the wrong length
      `${payload}!.${signature}`,
      'x'.repeat(600) + '.' + signature,
    ];
    for (const bad of cases)
      assert.deepEqual(verifyConsentState(bad, SECRET, NOW), { ok: false, reason: 'malformed' }, bad);

    // Correctly signed, but the signed content is not a valid state.
    for (const content of ['not json', JSON.stringify({ c: 'Bad ID!', e: 1 }), JSON.stringify({ c: 'ok' }), '[]']) {
      const p = b64url(content);
      assert.deepEqual(
        verifyConsentState(`${p}.${macOf(p)}`, SECRET, NOW),
        { ok: false, reason: 'malformed' },
        content,
      );
    }
  });

  void test('missing: no state at all', () => {
    for (const missing of [undefined, null, '']) {
      assert.deepEqual(verifyConsentState(missing, SECRET, NOW), { ok: false, reason: 'missing' });
    }
  });

  void test('secrets shorter than 32 characters and bad inputs are refused when signing', () => {
    assert.throws(() => signConsentState({ connectionId: 'a', expiresAt: inOneHour }, 'short'), /at least 32/);
    assert.throws(() => verifyConsentState(sign(), 'short', NOW), /at least 32/);
    assert.throws(() => signConsentState({ connectionId: 'Not Valid', expiresAt: inOneHour }, SECRET), /connectionId/);
    assert.throws(() => signConsentState({ connectionId: 'a', expiresAt: new Date('nope') }, SECRET), /expiresAt/);
  });
});
