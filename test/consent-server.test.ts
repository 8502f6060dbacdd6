/**
 * The consent callback server against a real connection workflow (shared dev server, in-process worker, emulator):
 * only a genuine, unexpired HMAC state signals the workflow.
 *
 *   npx tsx test/run.ts consent-server
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectorClient } from '../client/client';
import { signConsentState } from '../common/consent-state';
import { CONSENT_CALLBACK_PATH, escapeHtml, startConsentServer, type ConsentServer } from '../client/consent-server';
import { loadWorkerConfig } from '../worker/config';
import { createLogger } from '../worker/logger';
import { createConnectorWorker, type ConnectorWorker } from '../worker/worker';
import { ERROR_HINTS } from '../workflows/errors';
import { statusQuery, workflowIdOf, type ConnectionStatus, type Phase } from '../workflows/messages';
import { startEmulator, type Emulator } from '../emulator';
import { rsaKeys } from './helpers/connector';
import { devServerEnv, uniqueTaskQueue, workflowCode } from './helpers/temporal';

const SECRET = randomBytes(32).toString('base64url');
const IK = randomUUID();
const USER = randomUUID();
const run = randomUUID().slice(0, 8);
const keys = rsaKeys();

describe('consent callback server', () => {
  let env: TestWorkflowEnvironment;
  let emu: Emulator;
  let connector: ConnectorWorker;
  let running: Promise<void>;
  let client: ConnectorClient;
  let server: ConsentServer;
  let work: string;
  let keyRef: string;

  const query = (id: string) => env.client.workflow.getHandle(workflowIdOf(id)).query(statusQuery);
  const signalsOf = async (id: string): Promise<string[]> => {
    const history = await env.client.workflow.getHandle(workflowIdOf(id)).fetchHistory();
    return (history.events ?? []).flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
  };
  const callback = async (params: Record<string, string>) => {
    const url = new URL(server.callbackUrl);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url);
    return { status: res.status, html: await res.text(), type: res.headers.get('content-type') ?? '' };
  };
  const state = (connectionId: string, expiresInMs = 3_600_000, secret = SECRET) =>
    signConsentState({ connectionId, expiresAt: new Date(Date.now() + expiresInMs) }, secret);

  async function connect(id: string): Promise<void> {
    await client.connect({
      connectionId: id,
      environment: 'demo',
      integrationKey: IK,
      userId: USER,
      privateKeyRef: keyRef,
      oauthBaseUrl: emu.url,
    });
    const status = await client.waitForConsentUrl(id);
    assert.ok(status.consentUrl, 'consent URL built');
    // The worker signs the state with the same secret: the URL's state is one this server accepts.
    assert.ok(new URL(status.consentUrl).searchParams.get('state'));
  }

  async function waitForPhase(id: string, phase: Phase): Promise<ConnectionStatus> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await query(id);
      if (status.phase === phase) return status;
      if (Date.now() > deadline) assert.fail(`${id}: expected ${phase}, status ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  before(async () => {
    env = await devServerEnv();
    emu = await startEmulator({ envelopes: 20, seed: 5 });
    emu.registerApp(IK, keys.publicPem);
    emu.addUser({ userId: USER });
    // Consent already recorded at DocuSign: a consentGranted signal would take a connection straight to idle, so
    // "still awaiting_consent" below really means "no signal got through".
    emu.grantConsent(IK, USER);
    work = mkdtempSync(path.join(tmpdir(), 'consent-server-test-'));
    const keyPath = path.join(work, 'key.pem');
    writeFileSync(keyPath, keys.privatePem);
    keyRef = `file:${keyPath}`;
    const taskQueue = uniqueTaskQueue('consent');
    client = await ConnectorClient.create({ address: env.address, taskQueue });
    server = await startConsentServer({ port: 0, client, stateSecret: SECRET });
    connector = await createConnectorWorker({
      config: loadWorkerConfig({
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        EVIDENCE_STORE: path.join(work, 'evidence'),
        CONSENT_STATE_SECRET: SECRET,
        CONSENT_REDIRECT_URI: server.callbackUrl,
        DOCUSIGN_KEYS_DIR: work,
        DOCUSIGN_ALLOWED_HOSTS: emu.host,
      }),
      connection: env.nativeConnection,
      logger: createLogger({ level: 'silent' }),
      workflowCode: await workflowCode(),
    });
    running = connector.worker.run();
  });

  after(async () => {
    connector?.worker.shutdown();
    await running;
    await connector?.close();
    await server?.close();
    await client?.close();
    await emu?.stop();
    await env?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('forged, expired, missing and malformed states: 400, no signal, still awaiting consent', async () => {
    const id = `cs-reject-${run}`;
    await connect(id);
    const other = randomBytes(32).toString('base64url');
    const cases: [string, Record<string, string>, RegExp][] = [
      ['forged', { code: 'abc', state: state(id, 3_600_000, other) }, /failed verification/],
      ['expired', { code: 'abc', state: state(id, -1000) }, /expired/],
      ['missing', { code: 'abc' }, /no state/],
      ['malformed', { code: 'abc', state: 'not-a-state' }, /not valid/],
      ['edited', { code: 'abc', state: state(id).replace(/^./, (c) => (c === 'e' ? 'f' : 'e')) }, /./],
      ['denied with a forged state', { error: 'access_denied', state: state(id, 3_600_000, other) }, /failed/],
    ];
    for (const [name, params, reason] of cases) {
      const res = await callback(params);
      assert.equal(res.status, 400, name);
      assert.match(res.type, /^text\/html/, name);
      assert.match(res.html, reason, name);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await signalsOf(id), [], 'no signal reached the workflow');
    assert.equal((await query(id)).phase, 'awaiting_consent');
  });

  test('a valid state and a code: consentGranted, the connection leaves awaiting_consent', async () => {
    const id = `cs-grant-${run}`;
    await connect(id);
    // The real path: the workflow's own consent URL at the emulator redirects here with code and state.
    const { consentUrl } = await query(id);
    const approve = await fetch(consentUrl ?? '', { redirect: 'manual' });
    assert.equal(approve.status, 302);
    const location = approve.headers.get('location') ?? '';
    assert.ok(location.startsWith(server.callbackUrl), location);
    const res = await fetch(location);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(html, /Connected — you can close this window/);
    assert.deepEqual(await signalsOf(id), ['consentGranted']);
    const status = await waitForPhase(id, 'idle');
    assert.equal(status.totals.syncs, 1);
  });

  test('access_denied with a valid state: consentDenied, needs_attention with consent_denied', async () => {
    const id = `cs-deny-${run}`;
    await connect(id);
    const res = await callback({ error: 'access_denied', state: state(id) });
    assert.equal(res.status, 200);
    assert.match(res.html, /Consent was not granted/);
    assert.match(res.html, /access_denied/);
    const status = await waitForPhase(id, 'needs_attention');
    assert.equal(status.lastError?.code, 'consent_denied');
    assert.match(status.lastError?.message ?? '', /access_denied/);
    assert.equal(status.lastError?.hint, ERROR_HINTS.consent_denied);
    assert.deepEqual(await signalsOf(id), ['consentDenied']);
  });

  test('unknown connection: 404; odd error values are not echoed; healthz; HTML is escaped', async () => {
    const unknown = await callback({ code: 'abc', state: state(`cs-nobody-${run}`) });
    assert.equal(unknown.status, 404);
    assert.match(unknown.html, /Unknown connection/);

    const id = `cs-odd-${run}`;
    await connect(id);
    const odd = await callback({ error: '<script>alert(1)</script>', state: state(id) });
    assert.equal(odd.status, 200);
    assert.doesNotMatch(odd.html, /<script>/);
    assert.match(odd.html, /consent_error/);
    assert.equal((await waitForPhase(id, 'needs_attention')).lastError?.code, 'consent_denied');

    const noCode = await callback({ state: state(id) });
    assert.equal(noCode.status, 400);

    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { ok: true, callback: 'enabled' });
    assert.equal((await fetch(`${server.url}/elsewhere`)).status, 404);
    assert.equal((await fetch(`${server.url}${CONSENT_CALLBACK_PATH}`, { method: 'POST' })).status, 405);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });

  test('without a state secret the callback refuses everything with 503', async () => {
    const disabled = await startConsentServer({ port: 0, client, stateSecret: undefined });
    try {
      const res = await fetch(`${disabled.callbackUrl}?code=abc&state=${state(`cs-grant-${run}`)}`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /CONSENT_STATE_SECRET/);
    } finally {
      await disabled.close();
    }
  });
});
