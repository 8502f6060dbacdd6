/**
 * JWT Grant assertion checks (docusign-api.md §1.2–§1.5). Order of checks and the error each one yields:
 *
 *  1. grant_type is not `urn:ietf:params:oauth:grant-type:jwt-bearer` (or the body is not a form)
 *                                                          → invalid_grant / unsupported_grant_type
 *  2. assertion missing, not a compact JWS, or alg ≠ RS256 → invalid_grant / no_valid_keys_or_signatures
 *  3. `iss` is not a registered integration key          → invalid_grant / issuer_not_found
 *  4. `aud` has a scheme or a trailing slash              → invalid_grant / no_valid_keys_or_signatures
 *     `aud` is another host (e.g. account-d.docusign.com) → invalid_grant / issuer_not_found
 *  5. no public key on the app, or the signature fails    → invalid_grant / no_valid_keys_or_signatures
 *  6. `exp` missing                                       → invalid_grant / no_valid_keys_or_signatures
 *     `exp` in the past (emulator clock)                  → invalid_grant / expired_grant
 *  7. `iat` missing, `exp - iat` > 3600, `iat` ahead of the emulator clock by more than the skew tolerance, or
 *     `nbf` in the future by more than the same tolerance → invalid_grant / no_valid_keys_or_signatures
 *     (the tolerance applies to `nbf` too: clients such as DocuSign's IAM SDK set nbf = iat)
 *  8. `sub` missing or not a known user                   → invalid_grant / user_not_found
 *     (application tokens without `sub` are not emulated)
 *  9. `scope` lacks `signature` or `impersonation`, or the user has not consented to every requested scope
 *                                                          → consent_required (body `{"error":"consent_required"}`)
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const MAX_ASSERTION_LIFETIME_SECONDS = 3600;
export const REQUIRED_SCOPES = ['signature', 'impersonation'] as const;

export type TokenError =
  | { error: 'consent_required' }
  | {
      error: 'invalid_grant';
      error_description:
        | 'unsupported_grant_type'
        | 'no_valid_keys_or_signatures'
        | 'issuer_not_found'
        | 'user_not_found'
        | 'expired_grant';
    };

export interface GrantContext {
  host: string;
  nowSeconds: number;
  clockSkewToleranceSeconds: number;
  appKey(integrationKey: string): { registered: boolean; key?: KeyObject };
  userExists(userId: string): boolean;
  consentedScopes(integrationKey: string, userId: string): ReadonlySet<string> | 'all' | undefined;
}

export type GrantResult =
  { ok: true; integrationKey: string; userId: string; scopes: string[] } | { ok: false; body: TokenError };

const invalid = (d: Extract<TokenError, { error: 'invalid_grant' }>['error_description']): GrantResult => ({
  ok: false,
  body: { error: 'invalid_grant', error_description: d },
});

/** Accepts SPKI (`BEGIN PUBLIC KEY`) and PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM; throws unless it is an RSA key. */
export function importRsaPublicKey(pem: string): KeyObject {
  const key = createPublicKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'rsa')
    throw new Error(`expected an RSA public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

export async function checkGrant(form: URLSearchParams | undefined, ctx: GrantContext): Promise<GrantResult> {
  if (!form || form.get('grant_type') !== JWT_BEARER_GRANT) return invalid('unsupported_grant_type');
  const assertion = form.get('assertion');
  if (!assertion) return invalid('no_valid_keys_or_signatures');

  let claims: ReturnType<typeof decodeJwt>;
  try {
    const header = decodeProtectedHeader(assertion);
    if (header.alg !== 'RS256') return invalid('no_valid_keys_or_signatures');
    claims = decodeJwt(assertion);
  } catch {
    return invalid('no_valid_keys_or_signatures');
  }

  const iss = claims.iss;
  if (typeof iss !== 'string' || !ctx.appKey(iss).registered) return invalid('issuer_not_found');

  const auds = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (auds.length === 0 || auds.some((a) => a.includes('://') || a.endsWith('/'))) {
    return invalid('no_valid_keys_or_signatures');
  }
  if (!auds.includes(ctx.host)) return invalid('issuer_not_found');

  const { key } = ctx.appKey(iss);
  if (!key) return invalid('no_valid_keys_or_signatures');
  try {
    await compactVerify(assertion, key, { algorithms: ['RS256'] });
  } catch {
    return invalid('no_valid_keys_or_signatures');
  }

  const now = ctx.nowSeconds;
  const tolerance = ctx.clockSkewToleranceSeconds;
  const { exp, iat, nbf } = claims;
  if (typeof exp !== 'number') return invalid('no_valid_keys_or_signatures');
  if (exp <= now) return invalid('expired_grant');
  if (typeof iat !== 'number') return invalid('no_valid_keys_or_signatures');
  if (exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) return invalid('no_valid_keys_or_signatures');
  if (iat > now + tolerance) return invalid('no_valid_keys_or_signatures');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance))
    return invalid('no_valid_keys_or_signatures');

  const sub = claims.sub;
  if (typeof sub !== 'string' || !ctx.userExists(sub)) return invalid('user_not_found');

  const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter(Boolean) : [];
  if (!REQUIRED_SCOPES.every((s) => scopes.includes(s))) return { ok: false, body: { error: 'consent_required' } };
  const consented = ctx.consentedScopes(iss, sub);
  if (consented === undefined) return { ok: false, body: { error: 'consent_required' } };
  if (consented !== 'all' && !scopes.every((s) => consented.has(s)))
    return { ok: false, body: { error: 'consent_required' } };

  return { ok: true, integrationKey: iss, userId: sub, scopes };
}
