/**
 * Access tokens live only in the worker's memory. One cache entry per connection and credential fingerprint;
 * concurrent callers share one mint; a token is re-minted on a miss, near expiry, on request, or after a 401.
 * Workflows only ever see `expiresAt`.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { oauthAudienceOf, oauthBaseUrlOf, type ConnectionConfig } from '../workflows/config';
import { AccessTokenRejectedError, type DocuSignClient } from './docusign';
import { ConnectorError } from './errors';
import { loadPrivateKey } from './keys';
import { oauthUrlViolation, type TrustPolicy } from './trust';

export type TokenCredentials = Pick<
  ConnectionConfig,
  'connectionId' | 'environment' | 'integrationKey' | 'userId' | 'privateKeyRef' | 'oauthBaseUrl'
>;

export interface AccessToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  lifetimeMs: number;
}

/** DocuSign's examples request 600 s; the assertion is used once, right away. */
const ASSERTION_LIFETIME_SECONDS = 600;
/** A cached token closer than this to expiry (or a quarter of its lifetime, if shorter) is not handed out. */
const MIN_REMAINING_MS = 5 * 60_000;
const isFresh = (token: AccessToken, now: number) =>
  token.expiresAt - now > Math.min(MIN_REMAINING_MS, token.lifetimeMs / 4);

export interface TokenServiceOptions {
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  onMint?: (outcome: string) => void;
}

/**
 * One connection's cached token: the mint in flight (shared by concurrent callers), then the token itself. Only the
 * plain token is kept once minted: a settled promise would keep the async context it was created in alive, and in an
 * activity that is the activity's whole Context (its input, logger, heartbeat state), ~30 KB per connection for as
 * long as the token is cached.
 */
interface CacheEntry {
  fingerprint: string;
  minting?: Promise<AccessToken>;
  token?: AccessToken;
}

export class TokenService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly now: () => number;

  constructor(
    private readonly client: DocuSignClient,
    private readonly options: TokenServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A usable token: cached unless missing, stale, for other credentials, or `fresh` is asked for. */
  async get(creds: TokenCredentials, opts: { fresh?: boolean } = {}): Promise<AccessToken> {
    const fingerprint = fingerprintOf(creds);
    const entry = this.cache.get(creds.connectionId);
    if (entry && entry.fingerprint === fingerprint && !opts.fresh) {
      const token = entry.token ?? (await entry.minting?.catch(() => undefined));
      if (token && isFresh(token, this.now())) return token;
      // A concurrent caller may already have replaced the entry with a fresh mint: share it.
      const current = this.cache.get(creds.connectionId);
      if (current && current !== entry && current.fingerprint === fingerprint) return tokenOf(current);
    }
    const minting = this.mint(creds);
    const created: CacheEntry = { fingerprint, minting };
    this.cache.set(creds.connectionId, created);
    minting.then(
      (token) => {
        created.token = token;
        delete created.minting;
      },
      () => {
        if (this.cache.get(creds.connectionId) === created) this.cache.delete(creds.connectionId);
      },
    );
    return minting;
  }

  /** Runs `call` with a token; on a 401 re-mints once (unless another caller already did) and retries. */
  async withToken<T>(creds: TokenCredentials, call: (accessToken: string) => Promise<T>): Promise<T> {
    const first = await this.get(creds);
    const used = this.cache.get(creds.connectionId);
    try {
      return await call(first.accessToken);
    } catch (err) {
      if (!(err instanceof AccessTokenRejectedError)) throw err;
      // Decided synchronously, so concurrent callers that all got the 401 share one re-mint.
      const current = this.cache.get(creds.connectionId);
      const retry = current && current !== used ? tokenOf(current) : this.get(creds, { fresh: true });
      return await call((await retry).accessToken);
    }
  }

  private async mint(creds: TokenCredentials): Promise<AccessToken> {
    try {
      // The host is checked before the key is read: an untrusted host gets nothing, not even a signature.
      const oauthBaseUrl = trustedOAuthBaseUrl(creds, this.client.trust);
      const key = await loadPrivateKey(creds.privateKeyRef, this.client.trust, this.options.env);
      const issuedAt = Math.floor(this.now() / 1000);
      const assertion = await new SignJWT({ scope: 'signature impersonation' })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .setIssuer(creds.integrationKey)
        .setSubject(creds.userId)
        .setAudience(oauthAudienceOf(creds))
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
        .sign(key);
      const requestedAt = this.now();
      const { accessToken, expiresIn } = await this.client.requestToken(oauthBaseUrl, assertion);
      this.options.onMint?.('ok');
      return { accessToken, expiresAt: requestedAt + expiresIn * 1000, lifetimeMs: expiresIn * 1000 };
    } catch (err) {
      this.options.onMint?.((err as { code?: string }).code ?? 'error');
      throw err;
    }
  }
}

/** The entry's token, or the mint in flight for it. */
const tokenOf = (entry: CacheEntry): Promise<AccessToken> =>
  entry.token ? Promise.resolve(entry.token) : (entry.minting as Promise<AccessToken>);

/** The connection's OAuth base URL, or an `untrusted_oauth_host` error when the trust policy refuses it. */
export function trustedOAuthBaseUrl(
  creds: Pick<ConnectionConfig, 'environment' | 'oauthBaseUrl'>,
  trust: Pick<TrustPolicy, 'allowedHosts'>,
): string {
  const oauthBaseUrl = oauthBaseUrlOf(creds);
  const untrusted = oauthUrlViolation(oauthBaseUrl, creds.environment, trust);
  if (untrusted) throw new ConnectorError('untrusted_oauth_host', `oauthBaseUrl: ${untrusted}`);
  return oauthBaseUrl;
}

/** Changes whenever anything that decides which token DocuSign would mint changes. Not secret material. */
function fingerprintOf(creds: TokenCredentials): string {
  return createHash('sha256')
    .update([creds.integrationKey, creds.userId, creds.privateKeyRef, oauthBaseUrlOf(creds)].join('\n'))
    .digest('hex');
}
