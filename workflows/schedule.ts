/**
 * The lifecycle's timing decisions as pure functions of their inputs, so they are unit-tested (and mutation-tested)
 * without a Temporal server. Deterministic: no clock of their own, every `now` is the workflow's.
 */
import { DEFAULT_SYNC_INTERVAL_MINUTES, type ConnectionConfig } from './config';

const MINUTE = 60_000;
/** Re-mint this long before the token expires ("about 10 minutes", as DocuSign's staff advise). */
export const REMINT_BEFORE_EXPIRY_MS = 10 * MINUTE;
/** While waiting for consent, probe the token endpoint this often: consent may be granted elsewhere (admin consent). */
export const CONSENT_PROBE_INTERVAL_MS = 15 * MINUTE;
/**
 * A consent link is rebuilt once it is this close to expiring. Twice the probe interval, so the wait that precedes the
 * rebuild (at most one probe interval) always ends while the link shown is still valid.
 */
export const CONSENT_LINK_REFRESH_BEFORE_MS = 2 * CONSENT_PROBE_INTERVAL_MS;
/** A snapshot kind that failed on its own is tried again this much later (or at its interval, if sooner). */
export const SNAPSHOT_RETRY_MS = 60 * MINUTE;
/** needs_attention retries: 5 min, doubling, at most every 6 h. */
export const ATTENTION_BACKOFF_MS = { initial: 5 * MINUTE, max: 360 * MINUTE } as const;
/**
 * Each sync is scheduled up to this share of the interval later (never earlier), so connections started together,
 * e.g. a mass onboarding, do not all sync in the same minute every hour.
 */
export const SYNC_JITTER = 0.1;

/** The wait before the next timer-driven retry from needs_attention, after `attempts` earlier ones. */
export function attentionBackoffMs(attempts: number): number {
  return Math.min(ATTENTION_BACKOFF_MS.initial * 2 ** attempts, ATTENTION_BACKOFF_MS.max);
}

/** Delay from one finished sync to the next: the interval plus `random` (0..1) of the jitter share. */
export function syncDelayMs(config: Pick<ConnectionConfig, 'syncIntervalMinutes'>, random: number): number {
  const interval = (config.syncIntervalMinutes ?? DEFAULT_SYNC_INTERVAL_MINUTES) * MINUTE;
  return Math.round(interval * (1 + SYNC_JITTER * random));
}

/**
 * How long until a consent link must be rebuilt: undefined when it never expires (no signed state, or a link recorded
 * before links carried their expiry), 0 or less when it is due now.
 */
export function consentLinkRefreshInMs(expiresAt: string | undefined, now: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  return Date.parse(expiresAt) - CONSENT_LINK_REFRESH_BEFORE_MS - now;
}

/** When the token must be replaced: REMINT_BEFORE_EXPIRY_MS before it expires (now, when there is none). */
export function remintAt(token: { expiresAt: string } | undefined, now: number): number {
  return token ? Date.parse(token.expiresAt) - REMINT_BEFORE_EXPIRY_MS : now;
}
