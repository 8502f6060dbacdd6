/**
 * `npm run demo` / `docusign-connector demo`: the whole connector on embedded defaults, in one process, in well under a
 * minute:
 *
 *   1. the Temporal dev server with its Web UI (SQLite under ./data/demo), the workflow bundle built meanwhile;
 *   2. the DocuSign emulator with a few hundred envelopes; an Integration Key whose RSA key pair the demo generates
 *      (the private key goes to ./data/demo/private-key.pem, referenced as `file:`), and a user;
 *   3. the consent callback server, and the worker in-process (evidence under ./data/demo/evidence unless
 *      EVIDENCE_STORE is set; a random CONSENT_STATE_SECRET; CONSENT_REDIRECT_URI = the callback);
 *   4. `connect` of the connection `demo`, then consent through the real path: GET of the workflow's consent URL at
 *      the emulator (which approves and redirects) → the consent callback → `consentGranted`;
 *   5. the first sync: envelopes, every access-review snapshot, and signed proof for all completed envelopes;
 *   6. an auditor's week in the emulator (a user closed, one promoted to administrator, the session timeout raised),
 *      a second round of snapshots showing exactly those changes;
 *   7. the status, an evidence summary (one line per kind), the auditor's report (HTML, in the data directory) and the
 *      Temporal UI URL.
 *
 * `--keep` leaves everything running until Ctrl-C. Each run starts from a fresh Temporal database.
 */
import { bundleWorkflowCode, NativeConnection, Runtime } from '@temporalio/worker';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { startEmulator, type Emulator } from '../emulator';
import { loadWorkerConfig } from '../worker/config';
import { freePort, startDevServer, type DevServer } from '../worker/dev-server';
import { temporalCliPath } from '../worker/temporal-binaries';
import { createLogger, toTemporalLogger } from '../worker/logger';
import { createConnectorWorker, type ConnectorWorker } from '../worker/worker';
import { isPostgresSpec } from '../activities/store';
import { SNAPSHOT_KINDS } from '../workflows/evidence';
import { DEFAULT_TASK_QUEUE, workflowIdOf, type ConnectionStatus } from '../workflows/messages';
import { ConnectorClient, describeStatus, readEvidence } from './client';
import { startConsentServer, type ConsentServer } from './consent-server';

export interface DemoOptions {
  /** Leave everything running until SIGINT / SIGTERM. */
  keep?: boolean;
  /** Default ./data/demo. */
  dataDir?: string;
  /** Envelopes in the emulated account (spread over 400 days; the default backfill takes the last 365). */
  envelopes?: number;
  /** Progress and result lines; default stdout. */
  log?: (line: string) => void;
}

export interface DemoResult {
  connectionId: string;
  uiUrl?: string;
  temporalAddress: string;
  status: ConnectionStatus;
  evidence: { total: number; byStatus: Record<string, number>; store: string };
  /** The auditor's report (HTML). */
  report: string;
}

export const DEMO_CONNECTION_ID = 'demo';
/** Consent and the first sync must be done within this (plus 30 s for start-up). */
const DEMO_BUDGET_MS = 45_000;

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const out = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const step = (line: string) => out(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const dataDir = path.resolve(options.dataDir ?? './data/demo');
  const evidenceStore = process.env.EVIDENCE_STORE?.trim() || path.join(dataDir, 'evidence');
  const deadline = started + DEMO_BUDGET_MS + 30_000;

  // Ctrl-C ends the demo cleanly (a `keep` demo waits for it).
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let workerFailure: Error | undefined;
  const checkAbort = () => {
    if (abort.signal.aborted) throw new Error('demo interrupted');
    if (workerFailure) throw new Error(`the worker stopped: ${workerFailure.message}`);
  };

  // Fresh state: the Temporal database and the demo's own evidence (never a user-given EVIDENCE_STORE).
  mkdirSync(dataDir, { recursive: true });
  for (const name of ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm', 'private-key.pem']) {
    rmSync(path.join(dataDir, name), { force: true });
  }
  if (!process.env.EVIDENCE_STORE?.trim()) {
    rmSync(path.join(evidenceStore, DEMO_CONNECTION_ID), { recursive: true, force: true });
  }

  const logger = createLogger({
    level: (process.env.LOG_LEVEL?.trim().toLowerCase() as pino.LevelWithSilent | undefined) || 'warn',
    destination: pino.destination({ dest: 2, sync: true }),
    base: { service: 'docusign-connector-demo' },
  });
  try {
    Runtime.install({ logger: toTemporalLogger(logger), shutdownSignals: [] });
  } catch {
    // Already installed in this process (e.g. a test called runDemo): keep it.
  }

  let devServer: DevServer | undefined;
  let emulator: Emulator | undefined;
  let client: ConnectorClient | undefined;
  let consentServer: ConsentServer | undefined;
  let nativeConnection: NativeConnection | undefined;
  let connector: ConnectorWorker | undefined;
  let running: Promise<void> | undefined;
  try {
    // 1. Dev server + UI, the workflow bundle, the emulator and the key pair, all at once.
    step('starting the Temporal dev server with its UI, the DocuSign emulator, and bundling the workflow');
    const uiPort = await freePort();
    const [server, bundle, emu] = await Promise.all([
      startDevServer({
        cliPath: temporalCliPath(),
        dbFilename: path.join(dataDir, 'temporal.sqlite'),
        port: 0,
        uiPort,
      }),
      bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows'),
        logger: toTemporalLogger(logger.child({ component: 'bundler' })),
      }),
      startEmulator({ envelopes: options.envelopes ?? 300, seed: 7 }),
    ]);
    devServer = server;
    emulator = emu;
    checkAbort();
    step(`Temporal dev server at ${server.address}, UI at ${server.uiUrl ?? '(none)'}`);

    const integrationKey = randomUUID();
    const userId = randomUUID();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const keyPath = path.join(dataDir, 'private-key.pem');
    writeFileSync(keyPath, privateKey, { mode: 0o600 });
    emu.registerApp(integrationKey, publicKey);
    emu.addUser({ userId });
    const account = emu.accountsOf(userId).find((a) => a.isDefault);
    step(
      `DocuSign emulator at ${emu.url}: Integration Key ${integrationKey}, user ${userId}, ` +
        `account ${account?.accountName ?? '?'} (${options.envelopes ?? 300} envelopes); private key in ${keyPath}`,
    );

    // 2. The client, the consent callback server, the worker.
    client = await ConnectorClient.create({ address: server.address, taskQueue: DEFAULT_TASK_QUEUE, evidenceStore });
    const stateSecret = randomBytes(32).toString('base64url');
    consentServer = await startConsentServer({ port: 0, client, stateSecret });
    step(`consent callback at ${consentServer.callbackUrl}`);

    const config = loadWorkerConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      EVIDENCE_STORE: evidenceStore,
      CONSENT_STATE_SECRET: stateSecret,
      CONSENT_REDIRECT_URI: consentServer.callbackUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // The demo's key file and its emulator are what this worker may sign with and talk to.
      DOCUSIGN_KEYS_DIR: dataDir,
      DOCUSIGN_ALLOWED_HOSTS: emu.host,
    });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    connector = await createConnectorWorker({
      config,
      connection: nativeConnection,
      logger,
      workflowCode: { workflowBundle: bundle },
    });
    running = connector.worker.run();
    running.catch((err: unknown) => {
      workerFailure = err instanceof Error ? err : new Error(String(err)); // ends the waits below; awaited at shutdown
    });
    step(`worker running on task queue ${DEFAULT_TASK_QUEUE}; evidence store ${connector.store.description}`);
    checkAbort();

    // 3. Connect and consent through the real browser path.
    const connectionId = DEMO_CONNECTION_ID;
    const connected = await client.connect({
      connectionId,
      environment: 'demo',
      integrationKey,
      userId,
      privateKeyRef: `file:${keyPath}`,
      oauthBaseUrl: emu.url,
      signedProof: 'all-completed',
    });
    step(`connected ${connectionId}: workflow ${connected.workflowId}`);
    const awaiting = await client.waitForConsentUrl(connectionId, 15_000);
    if (!awaiting.consentUrl) throw new Error(`the workflow built no consent URL (phase ${awaiting.phase})`);
    step(`consent URL: ${awaiting.consentUrl}`);

    const consentPage = await fetch(awaiting.consentUrl, { redirect: 'manual' });
    await consentPage.arrayBuffer();
    const location = consentPage.headers.get('location');
    if (consentPage.status !== 302 || !location) {
      throw new Error(`the emulator's consent page answered HTTP ${consentPage.status} without a redirect`);
    }
    step(`emulator approved consent and redirected to ${new URL(location).origin}${new URL(location).pathname}`);
    const callback = await fetch(location);
    const html = await callback.text();
    const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '';
    if (callback.status !== 200) throw new Error(`the consent callback answered HTTP ${callback.status}: ${title}`);
    step(`consent callback: ${title}`);

    // 4. The first sync.
    let phase = '';
    let status: ConnectionStatus;
    for (;;) {
      checkAbort();
      status = await client.status(connectionId);
      if (status.phase !== phase) {
        phase = status.phase;
        step(`phase ${phase}`);
      }
      // The first pass: envelopes, then every snapshot kind, then signed proof.
      if (status.phase === 'idle' && status.totals.syncs >= 1 && status.evidence?.signedProof) break;
      if (status.phase === 'needs_attention' && status.lastError) {
        const e = status.lastError;
        throw new Error(`the first sync ended in needs_attention: ${e.code}: ${e.message} (fix: ${e.hint})`);
      }
      if (Date.now() > deadline)
        throw new Error(
          `no completed sync after ${Math.round((Date.now() - started) / 1000)} s (phase ${status.phase})`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }

    // 6. An auditor's week: the next snapshots show exactly what changed.
    const accountId = emu.accountsOf(userId).find((a) => a.isDefault)!.accountId;
    const directory = emu.directory(accountId);
    const plain = directory.users.filter((u) => u.userStatus === 'Active' && !/^true$/i.test(String(u.isAdmin)));
    const [leaver, promoted] = plain.map((u) => u.userId as string);
    if (leaver && promoted) {
      emu.closeUser(accountId, leaver);
      emu.setAdmin(accountId, promoted, true);
    }
    emu.setAccountSettings(accountId, { sessionTimeout: String(Number(directory.settings.sessionTimeout ?? 20) + 40) });
    step("an auditor's week in DocuSign: a user closed, one promoted to administrator, the session timeout raised");
    status = await client.syncAndWait(connectionId, { kinds: [...SNAPSHOT_KINDS] });
    step('snapshots taken again');

    // 7. Results.
    const reportPath = path.join(dataDir, 'report.html');
    writeFileSync(reportPath, (await client.report(connectionId, { format: 'html' })).text);
    const byStatus: Record<string, number> = {};
    let total = 0;
    for await (const record of readEvidence(evidenceStore, connectionId)) {
      total += 1;
      byStatus[record.status] = (byStatus[record.status] ?? 0) + 1;
    }
    const storeLabel = isPostgresSpec(evidenceStore) ? connector.store.description : evidenceStore;
    const uiUrl = server.uiUrl
      ? `${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowIdOf(connectionId))}`
      : undefined;
    out('');
    for (const line of describeStatus(status)) out(`  ${line}`);
    out('');
    const counts = Object.entries(byStatus)
      .sort(([, a], [, b]) => b - a)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    out(`evidence: ${total} envelope records in ${storeLabel} (${counts || 'none'})`);
    out(`auditor's report: ${reportPath}`);
    if (uiUrl) out(`Temporal UI: ${uiUrl}`);
    out(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    if (options.keep) {
      out('');
      out('Everything keeps running. In another shell, e.g.:');
      out(
        `  TEMPORAL_ADDRESS=${server.address} EVIDENCE_STORE=${evidenceStore} npx docusign-connector status --connection ${connectionId}`,
      );
      out(`  TEMPORAL_ADDRESS=${server.address} npx docusign-connector sync --connection ${connectionId} --wait`);
      // doctor checks the key and OAuth host against the trust settings of its own shell: give it the worker's.
      out(
        `  TEMPORAL_ADDRESS=${server.address} EVIDENCE_STORE=${evidenceStore} DOCUSIGN_KEYS_DIR=${dataDir} DOCUSIGN_ALLOWED_HOSTS=${emu.host} npx docusign-connector doctor --connection ${connectionId}`,
      );
      out('Press Ctrl-C to stop.');
      await new Promise<void>((resolve) => {
        if (abort.signal.aborted) resolve();
        else abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      step('stopping');
    }
    return {
      connectionId,
      ...(uiUrl ? { uiUrl } : {}),
      temporalAddress: server.address,
      status,
      evidence: { total, byStatus, store: storeLabel },
      report: reportPath,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (connector) {
      if (connector.worker.getState() === 'RUNNING') connector.worker.shutdown();
      await running?.catch(() => undefined);
      await connector.close().catch(() => undefined);
    }
    await nativeConnection?.close().catch(() => undefined);
    await consentServer?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await emulator?.stop().catch(() => undefined);
    await devServer?.stop().catch(() => undefined);
  }
}
