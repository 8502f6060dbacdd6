/**
 * `docusign-connector doctor`: the troubleshooting table (design.md §3) as live checks against DocuSign, each printed
 * PASS / FAIL (or SKIP when an earlier failure makes it meaningless) with the fix in the table's words.
 *
 *   private key    the reference resolves here, parses, and is RSA              (private_key_unavailable)
 *   environment    demo ↔ account-d.docusign.com, production ↔ account.docusign.com; another host only when trusted
 *                  (DOCUSIGN_ALLOWED_HOSTS here, as on the worker; an untrusted host is never contacted)  (untrusted_oauth_host)
 *   clock          local clock vs the OAuth host's `Date` header, at most 60 s apart   (invalid_grant)
 *   key accepted   a real JWT Grant token mint                                   (invalid_grant + DocuSign's reason)
 *   consent        the mint did not answer consent_required                      (consent_required + consentUrl)
 *   account        /oauth/userinfo has the configured (or a default) account; its base URI is trusted (untrusted_base_uri)
 *   rate limit     one cheap envelope-list call; X-RateLimit-Remaining / Limit above the reserve
 *   evidence store EVIDENCE_STORE opens, holds what the workflow counted, every stored journal line is readable
 *                  (evidence_store_unavailable)
 *
 * The config comes from the connection's workflow (references only); the key reference is resolved in THIS process's
 * environment, which for `env:` references may differ from the worker's, under THIS process's trust policy
 * (DOCUSIGN_KEYS_DIR, DOCUSIGN_KEY_ENV_PREFIX, DOCUSIGN_ALLOWED_HOSTS, as the worker reads them). Nothing secret is printed.
 */
import { accountOf, DocuSignClient, type RateLimitSnapshot } from '../activities/docusign';
import { createEvidenceStore } from '../activities/store';
import { ConnectorError } from '../activities/errors';
import { loadPrivateKey } from '../activities/keys';
import { TokenService, type AccessToken } from '../activities/tokens';
import { oauthUrlViolation, restUrlViolation, type TrustPolicy } from '../activities/trust';
import { consentUrlOf, OAUTH_BASE_URLS, oauthBaseUrlOf, type ConnectionConfig } from '../workflows/config';
import { ERROR_HINTS, type ErrorCode } from '../workflows/errors';

export const MAX_CLOCK_SKEW_MS = 60_000;

export interface DoctorCheck {
  name: string;
  result: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
  /** The fix, for FAIL. */
  fix?: string;
}

export interface DoctorOptions {
  /** The keys and hosts the doctor may use: the worker's rules, read from this process's environment. */
  trust: TrustPolicy;
  /** Where `env:` key references are resolved; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The workflow's current consent URL (signed state), shown when consent is missing. */
  consentUrl?: string;
  /** Default redirect URI for a consent URL built here (CONSENT_REDIRECT_URI). */
  defaultRedirectUri?: string;
  /** Share of the hourly budget that must remain (RATE_LIMIT_RESERVE_PERCENT), default 10. */
  reservePercent?: number;
  timeoutMs?: number;
  now?: () => number;
}

const fail = (name: string, detail: string, code: ErrorCode): DoctorCheck => ({
  name,
  result: 'FAIL',
  detail,
  fix: ERROR_HINTS[code],
});
/** The connector's own classification of the failure; anything else means DocuSign did not answer. */
const codeOf = (err: unknown): ErrorCode => (err instanceof ConnectorError ? err.code : 'docusign_unavailable');
const failFrom = (name: string, err: unknown): DoctorCheck => fail(name, (err as Error).message, codeOf(err));
const pass = (name: string, detail: string): DoctorCheck => ({ name, result: 'PASS', detail });
const skip = (name: string, detail: string): DoctorCheck => ({ name, result: 'SKIP', detail });

/** Runs every check in order; never throws for a DocuSign or key problem (that is a FAIL row). */
export async function runDoctor(config: ConnectionConfig, options: DoctorOptions): Promise<DoctorCheck[]> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const oauthBase = oauthBaseUrlOf(config);
  const oauthHost = new URL(oauthBase).host;
  const checks: DoctorCheck[] = [];

  // 1. The key reference.
  let keyOk = false;
  try {
    const key = await loadPrivateKey(config.privateKeyRef, options.trust, options.env ?? process.env);
    const bits = key.asymmetricKeyDetails?.modulusLength;
    checks.push(pass('private key', `${config.privateKeyRef} is ${bits ? `a ${bits}-bit` : 'an'} RSA private key`));
    keyOk = true;
  } catch (err) {
    checks.push(fail('private key', (err as Error).message, 'private_key_unavailable'));
  }

  // 2. Environment vs OAuth host.
  const expected = new URL(OAUTH_BASE_URLS[config.environment]).host;
  const other = new URL(OAUTH_BASE_URLS[config.environment === 'demo' ? 'production' : 'demo']).host;
  const untrusted = oauthUrlViolation(oauthBase, config.environment, options.trust);
  if (untrusted) {
    checks.push(fail('environment', untrusted, 'untrusted_oauth_host'));
  } else if (oauthHost === expected) {
    checks.push(pass('environment', `${config.environment} uses ${oauthHost}`));
  } else if (oauthHost === other) {
    checks.push(
      fail(
        'environment',
        `environment ${config.environment} but OAuth host ${oauthHost} (that is the ${config.environment === 'demo' ? 'production' : 'demo'} host; expected ${expected})`,
        'invalid_grant',
      ),
    );
  } else {
    checks.push(
      pass('environment', `${config.environment} with override OAuth host ${oauthHost} (in DOCUSIGN_ALLOWED_HOSTS)`),
    );
  }

  // 3. Clock skew against the OAuth host's Date header.
  checks.push(
    untrusted ? skip('clock', 'the OAuth host is not trusted') : await clockCheck(oauthBase, oauthHost, timeoutMs, now),
  );

  // 4-5. A real token mint: key accepted, consent given.
  const docusign = new DocuSignClient({ timeoutMs, now, trust: options.trust });
  const tokens = new TokenService(docusign, { now, ...(options.env ? { env: options.env } : {}) });
  let token: AccessToken | undefined;
  if (!keyOk || untrusted) {
    checks.push(skip('key accepted', untrusted ? 'needs a trusted OAuth host' : 'needs a readable RSA key'));
    checks.push(skip('consent', 'needs a token mint'));
  } else {
    try {
      token = await tokens.get(config, { fresh: true });
      checks.push(
        pass(
          'key accepted',
          `DocuSign minted a token (expires in ${Math.round((token.expiresAt - now()) / 60_000)} min)`,
        ),
      );
      checks.push(pass('consent', `user ${config.userId} has granted impersonation`));
    } catch (err) {
      if (codeOf(err) === 'consent_required') {
        checks.push(pass('key accepted', 'the JWT signature was accepted (consent is missing)'));
        const url = options.consentUrl ?? consentUrlOf(config, options.defaultRedirectUri);
        checks.push(fail('consent', `consent_required: open ${url}`, 'consent_required'));
      } else {
        checks.push(failFrom('key accepted', err));
        checks.push(skip('consent', 'needs a token mint'));
      }
    }
  }

  // 6. The account and its base URI.
  let account: { accountId: string; baseUri: string } | undefined;
  if (!token) {
    checks.push(skip('account', 'needs a token'));
  } else {
    try {
      const info = await tokens.withToken(config, (t) => docusign.userInfo(oauthBase, t));
      const found = accountOf(info, config.accountId);
      if (!found) {
        const ids = info.accounts.map((a) => a.account_id).join(', ') || 'none';
        checks.push(
          fail(
            'account',
            config.accountId
              ? `account ${config.accountId} is not among the user's accounts (${ids})`
              : `user ${config.userId} has no accounts`,
            'account_not_found',
          ),
        );
      } else {
        const baseUri = found.base_uri.replace(/\/+$/, '');
        const untrustedBase = restUrlViolation(baseUri, options.trust);
        if (untrustedBase) {
          checks.push(
            fail('account', `base_uri of account ${found.account_id}: ${untrustedBase}`, 'untrusted_base_uri'),
          );
        } else {
          account = { accountId: found.account_id, baseUri };
          const name = found.account_name ? `${found.account_name} ` : '';
          const which = config.accountId ? 'configured' : 'default';
          checks.push(pass('account', `${which} account ${name}${found.account_id}, base URI ${baseUri}`));
        }
      }
    } catch (err) {
      checks.push(failFrom('account', err));
    }
  }

  // 7. Rate-limit headroom: one cheap list call (from_date = now, count = 1).
  if (!token || !account) {
    checks.push(skip('rate limit', 'needs a token and an account'));
  } else {
    const from = encodeURIComponent(new Date(now()).toISOString());
    const url = `${account.baseUri}/restapi/v2.1/accounts/${account.accountId}/envelopes?from_date=${from}&count=1`;
    try {
      const { rateLimit } = await tokens.withToken(config, (t) => docusign.listEnvelopes(url, t));
      checks.push(rateLimitCheck(rateLimit, options.reservePercent ?? 10, now()));
    } catch (err) {
      checks.push(failFrom('rate limit', err));
    }
  }
  return checks;
}

async function clockCheck(oauthBase: string, host: string, timeoutMs: number, now: () => number): Promise<DoctorCheck> {
  const sentAt = now();
  let dateHeader: string | null;
  try {
    // Any answer carries Date; an unauthenticated userinfo call is cheap and changes nothing.
    const res = await fetch(`${oauthBase}/oauth/userinfo`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    dateHeader = res.headers.get('date');
  } catch (err) {
    return fail('clock', `cannot reach ${host}: ${(err as Error).message}`, 'docusign_unavailable');
  }
  const receivedAt = now();
  const serverMs = dateHeader ? Date.parse(dateHeader) : NaN;
  if (Number.isNaN(serverMs)) return skip('clock', `${host} sent no usable Date header`);
  // Date has whole seconds: compare with the middle of the exchange and allow for the truncation.
  const skewMs = serverMs + 500 - (sentAt + receivedAt) / 2;
  const seconds = Math.round(skewMs / 1000);
  const text = `local clock is ${Math.abs(seconds)} s ${seconds >= 0 ? 'behind' : 'ahead of'} ${host}`;
  return Math.abs(skewMs) > MAX_CLOCK_SKEW_MS
    ? fail('clock', `${text} (more than ${MAX_CLOCK_SKEW_MS / 1000} s)`, 'invalid_grant')
    : pass('clock', text);
}

function rateLimitCheck(rate: RateLimitSnapshot, reservePercent: number, now: number): DoctorCheck {
  const { hourlyLimit, hourlyRemaining, hourlyResetAt, burstLimit, burstRemaining } = rate;
  if (hourlyLimit === undefined || hourlyRemaining === undefined) {
    return pass('rate limit', 'DocuSign sent no X-RateLimit headers');
  }
  const reset = hourlyResetAt ? `, resets in ${Math.max(0, Math.round((hourlyResetAt - now) / 60_000))} min` : '';
  const burst =
    burstLimit !== undefined && burstRemaining !== undefined ? `; burst ${burstRemaining} of ${burstLimit}` : '';
  const detail = `${hourlyRemaining} of ${hourlyLimit} calls left this hour${reset}${burst}`;
  const floor = Math.ceil((hourlyLimit * reservePercent) / 100);
  if (hourlyRemaining <= floor || burstRemaining === 0) {
    return fail('rate limit', `${detail} (reserve ${reservePercent}%)`, 'rate_limited');
  }
  return pass('rate limit', detail);
}

/** The lines `doctor` prints for one check. */
/** The longest check name ('evidence store') and two spaces. */
const NAME_WIDTH = 16;

export function formatCheck(check: DoctorCheck): string[] {
  const lines = [`${check.result.padEnd(6)}${check.name.padEnd(NAME_WIDTH)}${check.detail}`];
  if (check.result === 'FAIL' && check.fix) lines.push(`${''.padEnd(6 + NAME_WIDTH)}fix: ${check.fix}`);
  return lines;
}

/**
 * The evidence store as the worker writes it: it opens, it holds at least the envelopes the workflow counted after its
 * last sync (`counted`, when the status answered: fewer means this is not the worker's store), and nothing stored is
 * unreadable (an unreadable journal line is skipped by every reader, so it is reported here rather than dropped
 * silently).
 */
export async function evidenceStoreCheck(spec: string, connectionId: string, counted?: number): Promise<DoctorCheck> {
  const name = 'evidence store';
  const store = createEvidenceStore(spec);
  try {
    await store.init();
    const [stored, unreadable, quarantined] = await Promise.all([
      store.count(connectionId),
      store.unreadableLines(connectionId),
      store.countQuarantined(connectionId),
    ]);
    const held = `${store.description}: ${stored} envelopes stored, ${quarantined} quarantined`;
    if (counted !== undefined && stored < counted) {
      return {
        name,
        result: 'FAIL',
        detail: `${held}, where the workflow counted ${counted} after its last sync`,
        fix:
          "EVIDENCE_STORE here is not the worker's store, or evidence was removed from it: set it as the worker has it " +
          'for doctor, evidence and report.',
      };
    }
    if (!unreadable.length) return pass(name, `${held}; every stored line is readable`);
    const where = unreadable.map((l) => `${l.file} at byte ${l.offset}`);
    return {
      name,
      result: 'FAIL',
      detail: `${held}; ${unreadable.length} unreadable line${unreadable.length === 1 ? '' : 's'} skipped: ${where.join(', ')}`,
      fix:
        'Readers skip unreadable lines (after a crash mid-append the fragment is expected; its page was stored again). ' +
        "Otherwise restore the file from a backup; the latest records are kept apart and a sync stores DocuSign's current data again.",
    };
  } catch (err) {
    return fail(name, (err as Error).message, 'evidence_store_unavailable');
  } finally {
    await store.close();
  }
}
