/**
 * The OAuth `state` carried through DocuSign's consent page and back to the consent callback: it names the connection
 * and expires, and is signed with HMAC-SHA256 so the callback can trust it (a forged or edited state is rejected
 * before any workflow is signalled).
 *
 * Format: base64url(JSON `{"c": connectionId, "e": expiresAtEpochMs}`) + "." + base64url(HMAC-SHA256(secret, part 1)).
 * The payload is signed, not encrypted: it holds only the connection ID, which is not secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CONNECTION_ID } from '../workflows/config';

export const MIN_CONSENT_STATE_SECRET_LENGTH = 32;
/** Longer states are rejected as malformed without any work. */
const MAX_STATE_LENGTH = 512;
const MAC_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type ConsentStateResult =
  | { ok: true; connectionId: string; expiresAt: Date }
  | { ok: false; reason: 'missing' | 'malformed' | 'forged' | 'expired' };

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_CONSENT_STATE_SECRET_LENGTH) {
    throw new Error(`consent state secret must be at least ${MIN_CONSENT_STATE_SECRET_LENGTH} characters`);
  }
}

function mac(payload: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'utf8').digest();
}

/** Signs a state for `connectionId`, valid until `expiresAt`. Throws on a bad connection ID, date or secret. */
export function signConsentState(input: { connectionId: string; expiresAt: Date }, secret: string): string {
  checkSecret(secret);
  if (!CONNECTION_ID.test(input.connectionId)) throw new Error(`connectionId must match ${String(CONNECTION_ID)}`);
  const expiresAtMs = input.expiresAt.getTime();
  if (!Number.isFinite(expiresAtMs)) throw new Error('expiresAt must be a valid Date');
  const payload = Buffer.from(JSON.stringify({ c: input.connectionId, e: expiresAtMs }), 'utf8').toString('base64url');
  return `${payload}.${mac(payload, secret).toString('base64url')}`;
}

/**
 * Verifies a state from the consent callback. `missing`: no state at all; `malformed`: not a state this module
 * produces; `forged`: well-formed but the signature does not match (edited, or signed with another secret);
 * `expired`: genuine but past its expiry at `now`. The signature is checked (in constant time) before the payload is
 * trusted.
 */
export function verifyConsentState(
  state: string | null | undefined,
  secret: string,
  now: Date = new Date(),
): ConsentStateResult {
  checkSecret(secret);
  if (state === undefined || state === null || state === '') return { ok: false, reason: 'missing' };
  if (typeof state !== 'string' || state.length > MAX_STATE_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = state.split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature || !BASE64URL.test(payload) || !BASE64URL.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== MAC_BYTES) return { ok: false, reason: 'malformed' };
  if (!timingSafeEqual(given, mac(payload, secret))) return { ok: false, reason: 'forged' };

  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof decoded !== 'object' || decoded === null) return { ok: false, reason: 'malformed' };
  const { c, e } = decoded as { c?: unknown; e?: unknown };
  if (typeof c !== 'string' || !CONNECTION_ID.test(c) || typeof e !== 'number' || !Number.isFinite(e)) {
    return { ok: false, reason: 'malformed' };
  }
  if (now.getTime() >= e) return { ok: false, reason: 'expired' };
  return { ok: true, connectionId: c, expiresAt: new Date(e) };
}
