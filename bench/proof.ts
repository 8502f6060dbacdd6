/**
 * Signed-proof benchmark (issue 13): 1,000 completed envelopes, every one selected by the policy ('all-completed'),
 * collected by the real worker PROCESS (`node --import tsx worker/main.ts`, prebuilt bundle, directory store) through
 * the real workflow (started through the client library), against the DocuSign emulator in its own process.
 *
 *   - DocuSign calls per envelope for proof (goal 2: the certificate of completion and the audit events);
 *   - artifacts stored (content-addressed files) and proof entries by state;
 *   - re-downloads after one SIGKILL of the worker process mid-backlog (goal 0; the download in flight at the kill may
 *     be repeated): certificates the emulator served more than once, audit-event calls beyond one per envelope;
 *   - time of the proof pass (history: collectProof scheduled → completed) at 0 and 200 ms emulator latency per call,
 *     against the sequential floor of 2 × latency per envelope;
 *   - the same backlog under DocuSign's default account limits (3,000 calls/hour, 500 per 30 s) instead of raised
 *     ones: burst waits, calls refused, and whether the reserve held.
 *
 * Each scenario gets a fresh emulator process, worker process and evidence directory: the backlog starts empty.
 *
 *   npx tsx bench/proof.ts            (TEMPORAL_ADDRESS=host:port to use a running server; else a dev server starts)
 *   PROOF_ENVELOPES=1000  PROOF_LATENCIES_MS=0,200  PROOF_KILL=1 (0 skips the kill)  PROOF_DEFAULT_LIMITS=1 (0 skips)
 *   PROOF_OUT=proof.json
 *
 * Prints tables and writes bench/results/proof.json.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  activitySpans,
  benchEnv,
  cleanUp,
  connectionConfig,
  diffCounts,
  loadAverage,
  sampleRss,
  startEmulatorProcess,
  startWorker,
  sum,
  USER_ID,
  waitForStatus,
  type ActivitySpan,
  type BenchEnv,
  type BenchWorker,
} from './snapshots';
import { machine, printTable, round, sleep } from './sync';

const ENVELOPES = Number(process.env.PROOF_ENVELOPES ?? 1000);
const LATENCIES_MS = (process.env.PROOF_LATENCIES_MS ?? '0,200')
  .split(',')
  .filter((v) => v.trim() !== '')
  .map(Number);
const KILL = process.env.PROOF_KILL !== '0';
const DEFAULT_LIMITS = process.env.PROOF_DEFAULT_LIMITS !== '0';
const OUT = process.env.PROOF_OUT ?? 'proof.json';
const GOAL_CALLS_PER_ENVELOPE = 2;
const RAISED_LIMITS = ['--hourly-limit', '1000000', '--burst-limit', '1000000'];

interface ScenarioSpec {
  name: string;
  latencyMs: number;
  /** SIGKILL the worker process once, half-way through the backlog. */
  killWorker: boolean;
  /** DocuSign's default account limits instead of raised ones. */
  defaultLimits: boolean;
}

interface ScenarioResult extends ScenarioSpec {
  loadAverage: { start: number[]; end: number[] };
  envelopes: number;
  /** connect → the pass done (idle with signedProof), client side. */
  wallMs: number;
  /** collectProof scheduled → completed (history), the kill's gap included. */
  proofMs: number;
  proofAttempts: number;
  proofResult: unknown;
  /** The same pass's envelope sync and snapshots, before proof: one activity (syncPass) scheduled → closed. */
  syncPassMs: number;
  signedProof: unknown;
  calls: Record<string, number>;
  proofCalls: number;
  callsPerEnvelope: number;
  certificateCalls: number;
  auditEventCalls: number;
  certificatesServedMoreThanOnce: number;
  extraCertificateDownloads: number;
  extraAuditEventCalls: number;
  throttled: number;
  pollingLimited: number;
  callsWhileLimited: number;
  /** Content-addressed files, their bytes, links from proof entries, and anything else in the directory. */
  artifacts: { files: number; bytes: number; linked: number; otherFiles: string[] };
  proofEntries: Record<string, number>;
  peakRssMiB: number;
  killed?: {
    afterMs: number;
    certificatesBeforeKill: number;
    auditEventsBeforeKill: number;
    entriesCollectedAtKill: number;
    /** Kill → the retry attempt started on the new worker (history). */
    resumedAfterMs?: number;
  };
}

async function main(): Promise<void> {
  const env = await benchEnv('bench-proof-');
  const startedLoad = loadAverage();
  const t0 = Date.now();
  try {
    const specs: ScenarioSpec[] = [
      ...LATENCIES_MS.filter((l) => l === 0).map((latencyMs) => ({
        name: `${latencyMs} ms`,
        latencyMs,
        killWorker: false,
        defaultLimits: false,
      })),
      ...(KILL ? [{ name: 'kill mid-backlog, 0 ms', latencyMs: 0, killWorker: true, defaultLimits: false }] : []),
      ...(DEFAULT_LIMITS
        ? [{ name: "DocuSign's default limits, 0 ms", latencyMs: 0, killWorker: false, defaultLimits: true }]
        : []),
      ...LATENCIES_MS.filter((l) => l !== 0).map((latencyMs) => ({
        name: `${latencyMs} ms`,
        latencyMs,
        killWorker: false,
        defaultLimits: false,
      })),
    ];
    const results: ScenarioResult[] = [];
    for (const [i, spec] of specs.entries()) results.push(await scenario(env, spec, i));
    report(results, env, startedLoad, Date.now() - t0);
  } finally {
    await cleanUp(env.cleanups);
  }
}

async function scenario(env: BenchEnv, spec: ScenarioSpec, n: number): Promise<ScenarioResult> {
  const load = loadAverage();
  console.log(`\n== ${spec.name}: ${ENVELOPES} completed envelopes (load ${load.join(' ')})`);
  const emu = await startEmulatorProcess(env.publicKeyPath, spec.defaultLimits ? [] : RAISED_LIMITS);
  const cleanups: (() => Promise<void>)[] = [emu.stop];
  try {
    const accountId = await emu.accountOf(USER_ID);
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ENVELOPES) {
          const i = next++;
          const e = await emu.admin<{ envelopeId: string }>('envelopes/add', {
            accountId,
            status: 'completed',
            subject: `Security policy acknowledgement ${i}`,
          });
          ids.push(e.envelopeId);
        }
      }),
    );
    const completed = (await emu.admin<{ status: string }[]>(`envelopes?accountId=${accountId}`)).filter(
      (e) => e.status === 'completed',
    ).length;
    if (completed !== ENVELOPES) throw new Error(`the emulator holds ${completed} completed envelopes`);

    const taskQueue = `bench-proof-${n}-${Date.now()}`;
    const evidenceStore = path.join(env.work, `evidence-${n}`);
    const client = await env.client(evidenceStore, taskQueue);
    const setup = {
      address: env.address,
      taskQueue,
      evidenceStore,
      keysDir: env.work,
      allowedHosts: emu.host,
      bundlePath: env.bundlePath,
    };
    let worker: BenchWorker = await startWorker(setup, client);
    cleanups.push(() => worker.stop());
    let sampler = sampleRss(worker.pid);
    let peakRssMiB = 0;

    await emu.admin('faults/latencyMs', { ms: spec.latencyMs });
    const id = `proof-${n}`;
    const before = await emu.stats();
    const t0 = performance.now();
    await client.connect(connectionConfig(env, emu, id, USER_ID, { signedProof: 'all-completed' }));
    await client.consent(id);

    let kill: ScenarioResult['killed'];
    let killedAt: number | undefined;
    if (spec.killWorker) {
      const certificates = async () =>
        ((await emu.stats()).calls['GET certificate'] ?? 0) - (before.calls['GET certificate'] ?? 0);
      while ((await certificates()) < ENVELOPES / 2) await sleep(20);
      await worker.kill();
      killedAt = Date.now();
      peakRssMiB = Math.max(peakRssMiB, sampler.stop().maxRssMiB);
      const atKill = await emu.stats();
      const collectedAtKill = proofStates(evidenceStore, id).collected ?? 0;
      kill = {
        afterMs: round(performance.now() - t0),
        certificatesBeforeKill: (atKill.calls['GET certificate'] ?? 0) - (before.calls['GET certificate'] ?? 0),
        auditEventsBeforeKill: (atKill.calls['GET audit_events'] ?? 0) - (before.calls['GET audit_events'] ?? 0),
        entriesCollectedAtKill: collectedAtKill,
      };
      console.log(
        `killed worker ${worker.pid} after ${kill.certificatesBeforeKill} certificates / ${kill.auditEventsBeforeKill} ` +
          `audit-event calls (${collectedAtKill} proof entries collected)`,
      );
      worker = await startWorker(setup, client);
      sampler = sampleRss(worker.pid);
    }

    const status = await waitForStatus(
      client,
      id,
      (s) => s.phase === 'idle' && s.evidence?.signedProof !== undefined,
      40 * 60_000,
      250,
    );
    const wallMs = performance.now() - t0;
    peakRssMiB = Math.max(peakRssMiB, sampler.stop().maxRssMiB);
    const after = await emu.stats();
    const calls = diffCounts(after.calls, before.calls);
    const spans = await activitySpans(client, id);
    const proofSpan = spans.find((s) => s.type === 'collectProof');
    const span = (s: ActivitySpan | undefined) => (s?.closedAt ?? NaN) - (s?.scheduledAt ?? NaN);
    if (kill && proofSpan?.startedAt !== undefined && killedAt !== undefined) {
      kill.resumedAfterMs = proofSpan.startedAt - killedAt;
    }

    const downloads = Object.entries(after.documentsDownloaded).filter(([envelopeId]) => ids.includes(envelopeId));
    const certificateCalls = calls['GET certificate'] ?? 0;
    const auditEventCalls = calls['GET audit_events'] ?? 0;
    const proofCalls = certificateCalls + auditEventCalls + (calls['GET envelope templates'] ?? 0);
    const artifactsDir = path.join(evidenceStore, id, 'artifacts', 'sha256');
    const artifactNames = readdirSync(artifactsDir);
    const artifactFiles = artifactNames.filter((f) => /^[0-9a-f]{64}$/.test(f));
    const states = proofStates(evidenceStore, id);
    const result: ScenarioResult = {
      ...spec,
      loadAverage: { start: load, end: loadAverage() },
      envelopes: ENVELOPES,
      wallMs: round(wallMs),
      proofMs: span(proofSpan),
      proofAttempts: proofSpan?.attempt ?? 0,
      proofResult: proofSpan?.result,
      syncPassMs: span(spans.find((s) => s.type === 'syncPass')),
      signedProof: status.evidence?.signedProof,
      calls,
      proofCalls,
      callsPerEnvelope: round(proofCalls / ENVELOPES, 3),
      certificateCalls,
      auditEventCalls,
      certificatesServedMoreThanOnce: downloads.filter(([, count]) => count > 1).length,
      extraCertificateDownloads: sum(downloads.map(([, count]) => Math.max(0, count - 1))),
      extraAuditEventCalls: Math.max(0, auditEventCalls - ENVELOPES),
      throttled: after.throttled - before.throttled,
      pollingLimited: after.pollingLimited - before.pollingLimited,
      callsWhileLimited: after.callsWhileLimited - before.callsWhileLimited,
      artifacts: {
        files: artifactFiles.length,
        bytes: sum(artifactFiles.map((f) => statSync(path.join(artifactsDir, f)).size)),
        linked: states.links ?? 0,
        otherFiles: artifactNames.filter((f) => !artifactFiles.includes(f)),
      },
      proofEntries: Object.fromEntries(Object.entries(states).filter(([k]) => k !== 'links')),
      peakRssMiB,
      ...(kill ? { killed: kill } : {}),
    };
    console.log(
      `proof pass ${result.proofMs} ms (attempt ${result.proofAttempts}), ${proofCalls} proof calls ` +
        `(${result.callsPerEnvelope}/envelope), ${result.artifacts.files} artifacts, ` +
        `status ${JSON.stringify(result.signedProof)}, re-downloads: ${result.extraCertificateDownloads} certificates, ` +
        `${result.extraAuditEventCalls} audit events; throttled ${result.throttled}, refused by the account limits ` +
        `${result.callsWhileLimited}; wall ${round(wallMs / 1000)} s`,
    );
    return result;
  } finally {
    await cleanUp(cleanups);
  }
}

/** Proof entries by state, and the artifact links they hold, read from the directory store's files. */
function proofStates(evidenceStore: string, connectionId: string): Record<string, number> {
  const dir = path.join(evidenceStore, connectionId, 'proof');
  const out: Record<string, number> = {};
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return out;
  }
  for (const name of names) {
    const entry = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as {
      state: string;
      certificate?: unknown;
      auditEvents?: unknown;
    };
    out[entry.state] = (out[entry.state] ?? 0) + 1;
    out.links = (out.links ?? 0) + (entry.certificate ? 1 : 0) + (entry.auditEvents ? 1 : 0);
  }
  return out;
}

function report(results: ScenarioResult[], env: BenchEnv, startedLoad: number[], ms: number): void {
  console.log('');
  printTable(
    [
      'scenario',
      'proof calls / envelope',
      'artifacts (files / links)',
      're-downloads (cert / audit)',
      'proof pass',
      'per envelope',
      'floor 2 × latency',
      'status',
    ],
    results.map((r) => [
      r.name,
      `${r.callsPerEnvelope} (${r.certificateCalls} + ${r.auditEventCalls})`,
      `${r.artifacts.files} / ${r.artifacts.linked}`,
      `${r.extraCertificateDownloads} / ${r.extraAuditEventCalls}`,
      `${round(r.proofMs / 1000)} s`,
      `${round(r.proofMs / r.envelopes, 1)} ms`,
      `${2 * r.latencyMs} ms`,
      JSON.stringify(r.signedProof),
    ]),
  );
  for (const r of results.filter((x) => x.killed)) {
    const k = r.killed!;
    console.log(
      `\n${r.name}: killed ${round(k.afterMs / 1000)} s after connect, ${k.certificatesBeforeKill} certificates and ` +
        `${k.auditEventsBeforeKill} audit-event calls served, ${k.entriesCollectedAtKill} proof entries collected; ` +
        `the retry started ${round((k.resumedAfterMs ?? NaN) / 1000)} s after the kill (attempt ${r.proofAttempts}); ` +
        `re-downloads ${r.extraCertificateDownloads} certificates, ${r.extraAuditEventCalls} audit events; ` +
        `left in the artifact directory besides artifacts: ${JSON.stringify(r.artifacts.otherFiles)}`,
    );
  }
  const result = {
    benchmark: 'proof',
    measuredAt: new Date().toISOString(),
    durationSeconds: Math.round(ms / 1000),
    loadAverage: { start: startedLoad, end: loadAverage() },
    machine: machine(),
    temporal: env.temporalDescription,
    emulator:
      'separate process per scenario (emulator/main.ts), driven over /__admin; account limits raised out of the way ' +
      "unless the scenario says DocuSign's defaults; per-envelope polling and per-document download limits at defaults",
    worker: 'separate process (node --import tsx worker/main.ts, prebuilt bundle, directory store, LOG_LEVEL=warn)',
    policy: 'all-completed',
    envelopes: ENVELOPES,
    goal: { callsPerEnvelope: GOAL_CALLS_PER_ENVELOPE, reDownloadsAfterKill: 0 },
    scenarios: results,
  };
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, OUT), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${OUT}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench/proof: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
