/**
 * Signed proof (design.md §7, issue 13): for every completed envelope the connection's policy selects — the ones
 * stored long ago included — DocuSign's certificate of completion (`documents/certificate`, a PDF) and the envelope's
 * audit events, each stored once under its SHA-256 and linked from the envelope's proof entry.
 *
 * - The backlog is the evidence store itself: completed envelope records merged (by envelopeId, both in that order)
 *   with their proof entries. Each artifact is linked as soon as it is stored, so after a crash or a restart nothing
 *   stored is downloaded again and nothing is forgotten.
 * - Budget: it spends only what the envelope sync left. At the account's reserve it stops (the rest stays pending for
 *   the next pass) rather than waiting for the reset; a pass also ends after `maxPassMs`.
 * - DocuSign's limits: one download per artifact, two GETs per envelope (within the per-envelope polling limits); an
 *   envelope whose proof DocuSign refuses (not ready, or a document download throttled) is tried again no sooner
 *   than `retryAfterMs` later (the polling rule asks for 15 minutes between polls of one envelope), and after
 *   `maxAttempts` refusals it is `failed`.
 * - Only completed envelopes: a voided or declined envelope has no certificate of completion.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type { ConnectionConfig, SignedProofPolicy } from '../workflows/config';
import type { AccountInfo } from '../workflows/messages';
import type { DocuSignClient, RateLimitSnapshot } from './docusign';
import { ConnectorError, toApplicationFailure } from './errors';
import type { ArtifactLink, EnvelopeProof, ProofCounts } from './store/proof';
import type { EnvelopeRecord, EvidenceStore } from './store/types';
import { respectRateLimit, type SyncOptions } from './sync';
import type { TokenService } from './tokens';

export interface ProofInput {
  config: ConnectionConfig;
  account: AccountInfo;
}

export interface ProofResult extends ProofCounts {
  /** Artifacts downloaded by this pass. */
  downloaded: number;
  /** Why the pass ended before the backlog did: the account's budget reached its reserve, or the pass's time. */
  stoppedBy?: 'budget' | 'time';
}

export interface ProofOptions {
  maxAttempts: number;
  retryAfterMs: number;
  maxPassMs: number;
}

export const DEFAULT_PROOF_OPTIONS: ProofOptions = {
  maxAttempts: 8,
  retryAfterMs: 20 * 60_000,
  maxPassMs: 15 * 60_000,
};

/** Refusals that mean "not now" for one envelope (it is retried later), not "stop everything". */
const RETRY_LATER: ReadonlySet<string> = new Set(['request_rejected', 'invalid_response', 'docusign_unavailable']);

/** Whether the policy selects an envelope; `templateIds` are needed only for a template policy. */
export function selects(
  policy: SignedProofPolicy | undefined,
  envelope: Record<string, unknown>,
  templateIds: readonly string[] | undefined,
): boolean {
  if (policy === undefined || policy === 'none') return false;
  if (policy === 'all-completed') return true;
  const subject = typeof envelope.emailSubject === 'string' ? envelope.emailSubject.toLowerCase() : '';
  const bySubject = policy.subjectContains?.some((text) => subject.includes(text.toLowerCase())) ?? false;
  const wanted = new Set((policy.templateIds ?? []).map((id) => id.toLowerCase()));
  const byTemplate = (templateIds ?? []).some((id) => wanted.has(id.toLowerCase()));
  return bySubject || byTemplate;
}

const needsTemplates = (policy: SignedProofPolicy | undefined): boolean =>
  typeof policy === 'object' && policy.templateIds !== undefined;

export async function collectProof(
  deps: {
    docusign: DocuSignClient;
    tokens: TokenService;
    store: Pick<EvidenceStore, 'list' | 'proof'>;
    options: Pick<SyncOptions, 'reservePercent' | 'maxInlineWaitMs' | 'now'> & ProofOptions;
  },
  input: ProofInput,
): Promise<ProofResult> {
  const { docusign, tokens, store, options } = deps;
  const ctx = Context.current();
  const { connectionId, signedProof: policy } = input.config;
  const accountBase = `${input.account.baseUri.replace(/\/+$/, '')}/restapi/v2.1/accounts/${encodeURIComponent(input.account.accountId)}`;
  const started = options.now();
  const result: ProofResult = { collected: 0, pending: 0, failed: 0, downloaded: 0 };
  let rateLimit: RateLimitSnapshot | undefined;
  const ticker = setInterval(() => ctx.heartbeat(result), 5_000);

  /** One DocuSign call under the shared budget; false when the budget (or the pass's time) is spent. */
  const withinBudget = async (): Promise<boolean> => {
    if (options.now() - started >= options.maxPassMs) {
      result.stoppedBy = 'time';
      return false;
    }
    try {
      await respectRateLimit(
        docusign.lastRateLimit(input.account.accountId) ?? rateLimit,
        options,
        docusign.burstRetryMs,
        ctx,
      );
      return true;
    } catch (err) {
      // A wait longer than the activity waits inline: the budget is down to the reserve. The rest waits a pass.
      if (!(err instanceof ConnectorError && err.code === 'rate_limited')) throw err;
      result.stoppedBy = 'budget';
      return false;
    }
  };
  const call = <T extends { rateLimit: RateLimitSnapshot }>(fn: (token: string) => Promise<T>) =>
    tokens.withToken(input.config, fn).then((res) => {
      rateLimit = res.rateLimit;
      return res;
    });

  try {
    for await (const { record, proof } of withProof(store.list(connectionId), store.proof.listProof(connectionId))) {
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      if (record.status !== 'completed') continue;
      if (proof?.state === 'collected') {
        result.collected += 1;
        continue;
      }
      if (proof?.state === 'failed') {
        result.failed += 1;
        continue;
      }
      let entry: EnvelopeProof = proof ?? { envelopeId: record.envelopeId, state: 'pending', attempts: 0 };
      if (needsTemplates(policy) && !entry.templateIds) {
        if (result.stoppedBy || !(await withinBudget())) {
          result.pending += selects(policy, record.envelope, undefined) ? 1 : 0;
          continue;
        }
        const url = `${accountBase}/envelopes/${encodeURIComponent(record.envelopeId)}/templates`;
        const { items } = await call((token) =>
          docusign.listPage('envelope-templates', url, token, { itemsKey: 'templates', idField: 'templateId' }),
        );
        entry = { ...entry, templateIds: items.map((t) => t.templateId as string) };
      }
      if (!selects(policy, record.envelope, entry.templateIds)) {
        if (entry.templateIds && entry.state !== 'unselected')
          await store.proof.putProof(connectionId, { ...entry, state: 'unselected' });
        continue;
      }
      const due = !entry.nextAttemptAt || Date.parse(entry.nextAttemptAt) <= options.now();
      if (!due || result.stoppedBy) {
        result.pending += 1;
        if (entry !== proof) await store.proof.putProof(connectionId, { ...entry, state: 'pending' });
        continue;
      }
      entry = await collectOne(entry, record.envelopeId);
      result[entry.state === 'collected' ? 'collected' : entry.state === 'failed' ? 'failed' : 'pending'] += 1;
      ctx.heartbeat(result);
    }
    return result;
  } catch (err) {
    if (err instanceof CancelledFailure) throw err;
    throw toApplicationFailure(err);
  } finally {
    clearInterval(ticker);
  }

  /** Downloads what the entry lacks, linking each artifact as soon as it is stored. */
  async function collectOne(start: EnvelopeProof, envelopeId: string): Promise<EnvelopeProof> {
    let entry: EnvelopeProof = { ...start, state: 'pending' };
    const envelopeUrl = `${accountBase}/envelopes/${encodeURIComponent(envelopeId)}`;
    try {
      if (!entry.certificate) {
        if (!(await withinBudget())) return save(entry);
        const { bytes, contentType } = await call((token) =>
          docusign.getDocument(`${envelopeUrl}/documents/certificate`, token),
        );
        entry = await save({ ...entry, certificate: await stored(bytes, contentType) });
      }
      if (!entry.auditEvents) {
        if (!(await withinBudget())) return entry;
        const { bytes } = await call((token) => docusign.getAuditEvents(`${envelopeUrl}/audit_events`, token));
        entry = await save({ ...entry, auditEvents: await stored(bytes, 'application/json') });
      }
      const { nextAttemptAt: _next, lastError: _error, ...done } = entry;
      return save({ ...done, state: 'collected' });
    } catch (err) {
      const code = err instanceof ConnectorError ? err.code : undefined;
      const reason = (err instanceof ConnectorError ? (err.extra.reason ?? '') : '').toUpperCase();
      // This envelope polled or this document downloaded too often: later, without counting it as a refusal.
      const throttled = reason === 'API_REQUEST_IS_THROTTLED' || /^(HOURLY|BURST)_ENVELOPE_POLLING/.test(reason);
      if (code === 'rate_limited' && !throttled) {
        result.stoppedBy = 'budget'; // the account's limit: the rest of the backlog waits for the next pass
        return save(entry);
      }
      if (!throttled && (code === undefined || !RETRY_LATER.has(code))) throw err;
      const attempts = throttled ? entry.attempts : entry.attempts + 1;
      const at = new Date(options.now()).toISOString();
      const lastError = { code: code ?? 'rate_limited', message: (err as Error).message, at };
      if (!throttled && attempts >= options.maxAttempts) {
        ctx.log.warn('signed proof failed for good', { connectionId, envelopeId, attempts, code });
        return save({ ...entry, state: 'failed', attempts, lastError });
      }
      const nextAttemptAt = new Date(options.now() + options.retryAfterMs).toISOString();
      return save({ ...entry, state: 'pending', attempts, nextAttemptAt, lastError });
    }
  }

  async function stored(bytes: Buffer, contentType: string): Promise<ArtifactLink> {
    const { sha256, size } = await store.proof.putArtifact(connectionId, bytes);
    result.downloaded += 1;
    return { sha256, size, contentType, fetchedAt: new Date(options.now()).toISOString() };
  }

  async function save(entry: EnvelopeProof): Promise<EnvelopeProof> {
    await store.proof.putProof(connectionId, entry);
    return entry;
  }
}

/** Envelope records joined with their proof entries; both arrive in envelopeId order. */
async function* withProof(
  records: AsyncIterable<EnvelopeRecord>,
  proofs: AsyncIterable<EnvelopeProof>,
): AsyncIterable<{ record: EnvelopeRecord; proof?: EnvelopeProof }> {
  const iterator = proofs[Symbol.asyncIterator]();
  let next = await iterator.next();
  for await (const record of records) {
    while (!next.done && next.value.envelopeId < record.envelopeId) next = await iterator.next();
    const proof = !next.done && next.value.envelopeId === record.envelopeId ? next.value : undefined;
    yield proof ? { record, proof } : { record };
  }
}
