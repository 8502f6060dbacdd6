/**
 * Signed proof end to end (issue 13): the policy selects completed envelopes (all, by subject, by template, none, and
 * a policy changed later that picks up the envelopes stored before); the stored certificate and audit events equal
 * what DocuSign serves, byte for byte, downloaded once, addressed by SHA-256; voided and declined envelopes get none;
 * proof DocuSign will not give yet stays pending and is collected by a later pass; at the account's reserve the
 * collection stops instead of spending it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EnvelopeProof } from '../activities/store/proof';
import type { EnvelopeSpec } from '../emulator';
import type { SignedProofPolicy } from '../workflows/config';
import {
  consentGrantedSignal,
  credentialsUpdatedSignal,
  syncAndWaitUpdate,
  type ConnectionStatus,
} from '../workflows/messages';
import { BACKFILL_ALL, startHarness, type Harness } from './helpers/connector';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const NDA_TEMPLATE = '0c0ffee0-0000-4000-8000-00000000a0a1';
const OTHER_TEMPLATE = '0c0ffee0-0000-4000-8000-00000000b0b2';
/** Proof refused now is asked for again this much later (short for the test; 20 minutes by default). */
const RETRY_AFTER_MS = 1_000;

describe('signed proof against the emulator', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 0 }, proof: { retryAfterMs: RETRY_AFTER_MS } });
  });
  after(async () => {
    await h?.close();
  });

  /** A consented account holding exactly these envelopes, connected with `policy`; resolves after the first pass. */
  async function connect(id: string, policy: SignedProofPolicy | undefined, specs: EnvelopeSpec[]) {
    const { userId, accountId } = h.newAccount(0);
    const envelopes = specs.map((spec) => h.emu.addEnvelope(accountId, spec));
    const calls = { ...h.emu.stats.calls };
    const handle = await h.start(
      h.config(id, { userId, backfillFrom: BACKFILL_ALL, ...(policy ? { signedProof: policy } : {}) }),
    );
    await handle.signal(consentGrantedSignal);
    const status = await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs >= 1, 60_000);
    const callsOf = (name: string) => (h.emu.stats.calls[name] ?? 0) - (calls[name] ?? 0);
    return { handle, userId, accountId, envelopes, status, callsOf };
  }

  const proofOf = async (connectionId: string): Promise<Map<string, EnvelopeProof>> => {
    const out = new Map<string, EnvelopeProof>();
    for await (const p of h.connector.store.proof.listProof(connectionId)) out.set(p.envelopeId, p);
    return out;
  };
  const collected = async (connectionId: string) =>
    [...(await proofOf(connectionId)).values()]
      .filter((p) => p.state === 'collected')
      .map((p) => p.envelopeId)
      .sort();
  const ids = (envelopes: { envelopeId: string }[]) => envelopes.map((e) => e.envelopeId).sort();

  /** What DocuSign serves for an envelope, fetched with a token of the account's user. */
  async function served(userId: string, accountId: string, envelopeId: string) {
    const token = await h.connector.tokens.get(h.config('proof-truth', { userId }));
    const baseUri = h.emu.accountsOf(userId).find((a) => a.accountId === accountId)!.baseUri;
    const url = `${baseUri}/restapi/v2.1/accounts/${accountId}/envelopes/${envelopeId}`;
    const get = async (path: string) =>
      Buffer.from(
        await (
          await fetch(`${url}/${path}`, { headers: { authorization: `Bearer ${token.accessToken}` } })
        ).arrayBuffer(),
      );
    return { certificate: await get('documents/certificate'), auditEvents: await get('audit_events') };
  }

  test("all-completed: each completed envelope's certificate and audit events, once, equal DocuSign's", async () => {
    const { handle, userId, accountId, envelopes, status, callsOf } = await connect('proof-all', 'all-completed', [
      { status: 'completed', subject: 'NDA for Alice' },
      { status: 'completed', subject: 'Vendor contract' },
      { status: 'voided', subject: 'Voided NDA' },
      { status: 'declined', subject: 'Declined policy' },
      { status: 'sent', subject: 'Still out' },
    ]);
    const completed = envelopes.filter((e) => e.status === 'completed');
    assert.deepEqual(status.evidence?.signedProof, { collected: 2, pending: 0, failed: 0 });
    assert.deepEqual(await collected('proof-all'), ids(completed), 'voided, declined and sent envelopes get none');
    assert.equal(callsOf('GET certificate'), 2, 'one certificate download per completed envelope');
    assert.equal(callsOf('GET audit_events'), 2);

    const proof = await proofOf('proof-all');
    for (const envelope of completed) {
      const entry = proof.get(envelope.envelopeId)!;
      const truth = await served(userId, accountId, envelope.envelopeId);
      const certificate = await h.connector.store.proof.readArtifact('proof-all', entry.certificate!.sha256);
      const events = await h.connector.store.proof.readArtifact('proof-all', entry.auditEvents!.sha256);
      assert.ok(certificate.equals(truth.certificate), 'the certificate, byte for byte');
      assert.ok(events.equals(truth.auditEvents), 'the audit events, byte for byte');
      assert.equal(entry.certificate!.sha256, sha256(certificate));
      assert.equal(entry.certificate!.contentType, 'application/pdf');
    }

    // The next pass downloads nothing again.
    const before = h.emu.stats.calls['GET certificate'] ?? 0;
    const again = await handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['envelopes'] }] });
    assert.deepEqual(again.evidence?.signedProof, { collected: 2, pending: 0, failed: 0 });
    assert.equal((h.emu.stats.calls['GET certificate'] ?? 0) - before, 0);
  });

  test('a subject policy selects by case-insensitive substring; a template policy by the templates used', async () => {
    const bySubject = await connect('proof-subject', { subjectContains: ['nda'] }, [
      { status: 'completed', subject: 'Mutual NDA — Acme' },
      { status: 'completed', subject: 'Security policy acknowledgement' },
    ]);
    assert.deepEqual(await collected('proof-subject'), ids(bySubject.envelopes.slice(0, 1)));
    assert.deepEqual(bySubject.status.evidence?.signedProof, { collected: 1, pending: 0, failed: 0 });

    const byTemplate = await connect('proof-template', { templateIds: [NDA_TEMPLATE] }, [
      { status: 'completed', template: { templateId: NDA_TEMPLATE, name: 'NDA' } },
      { status: 'completed', template: { templateId: OTHER_TEMPLATE, name: 'Offer letter' } },
      { status: 'completed', subject: 'No template' },
    ]);
    assert.deepEqual(await collected('proof-template'), ids(byTemplate.envelopes.slice(0, 1)));
    assert.equal(byTemplate.callsOf('GET envelope templates'), 3, 'templates read once per completed envelope');
    const unselected = [...(await proofOf('proof-template')).values()].filter((p) => p.state === 'unselected');
    assert.equal(unselected.length, 2);
  });

  test('none: no proof calls; a policy changed later picks up the completed envelopes stored before', async () => {
    const { handle, envelopes, callsOf } = await connect('proof-later', undefined, [
      { status: 'completed', subject: 'Old NDA' },
      { status: 'completed', subject: 'Old contract' },
    ]);
    assert.equal(callsOf('GET certificate'), 0);
    assert.equal((await proofOf('proof-later')).size, 0);

    await handle.signal(credentialsUpdatedSignal, { signedProof: 'all-completed' });
    await h.waitForStatus(handle, (s) => s.evidence?.signedProof?.collected === 2);
    assert.deepEqual(await collected('proof-later'), ids(envelopes));
  });

  test('proof DocuSign will not give yet stays pending, then is collected by a later pass', async () => {
    const { userId, accountId } = h.newAccount(0);
    const late = h.emu.addEnvelope(accountId, { status: 'completed', subject: 'Signed just now' });
    h.emu.faults.certificateUnavailable(late.envelopeId, 1);
    const handle = await h.start(
      h.config('proof-late', { userId, backfillFrom: BACKFILL_ALL, signedProof: 'all-completed' }),
    );
    await handle.signal(consentGrantedSignal);
    let status: ConnectionStatus = await h.waitForStatus(
      handle,
      (s) => !!s.evidence?.signedProof && s.phase === 'idle',
    );
    assert.deepEqual(status.evidence?.signedProof, { collected: 0, pending: 1, failed: 0 });
    const entry = (await proofOf('proof-late')).get(late.envelopeId)!;
    assert.equal(entry.attempts, 1);
    assert.ok(entry.nextAttemptAt && entry.lastError?.code === 'request_rejected', JSON.stringify(entry));

    await new Promise((r) => setTimeout(r, RETRY_AFTER_MS));
    status = await handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['envelopes'] }] });
    assert.deepEqual(status.evidence?.signedProof, { collected: 1, pending: 0, failed: 0 });
  });

  test("at the account's reserve collection stops: the rest stays pending, no call goes into the limit", async () => {
    const { userId, accountId } = h.newAccount(0);
    for (let i = 0; i < 30; i++) h.emu.addEnvelope(accountId, { status: 'completed', subject: `Policy ${i}` });
    // 70 calls a window, 7 kept for other apps: the first pass (envelopes, snapshots, then proof) cannot do all 60.
    // The emulator's windows are aligned to the epoch, as DocuSign's hour is to the clock: a ten-year window keeps a
    // reset (a fresh budget mid-test, at the top of an hour) out of the run.
    h.emu.setRateLimit({ hourlyLimit: 70, hourlyWindowSeconds: 10 * 365 * 86_400 });
    try {
      const limitedBefore = h.emu.stats.callsWhileLimited;
      const handle = await h.start(
        h.config('proof-budget', { userId, backfillFrom: BACKFILL_ALL, signedProof: 'all-completed' }),
      );
      await handle.signal(consentGrantedSignal);
      const status = await h.waitForStatus(handle, (s) => !!s.evidence?.signedProof && s.phase === 'idle', 60_000);
      const proof = status.evidence!.signedProof!;
      assert.ok(
        proof.collected > 0 && proof.pending > 0 && proof.collected + proof.pending === 30,
        JSON.stringify(proof),
      );
      assert.equal(h.emu.stats.callsWhileLimited - limitedBefore, 0, 'no call into the limit');
      const remaining = h.emu.stats.hourlyRemaining[accountId.toLowerCase()] ?? [];
      assert.ok(Math.min(...remaining) >= 6, `the reserve was kept: lowest remaining ${Math.min(...remaining)}`);
    } finally {
      h.emu.setRateLimit({});
    }
  });
});
