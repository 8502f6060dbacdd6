/**
 * Connect webhook benchmark (issue 16), on loopback: the emulator sends signed Connect events, the connect listener
 * (debounce as configured) signals the connection, the real worker (in this process, directory store) syncs.
 *
 *   - latency: an envelope completed at the emulator → the sync that stored it finished (the status' total grew),
 *     p50 / p99 over CONNECT_SAMPLES changes, one at a time, at each debounce window of CONNECT_DEBOUNCE_MS;
 *   - DocuSign calls: measured per event (0 when the event carries the envelope), then a day of a 1,000-envelope/day account with webhooks
 *     (hourly polls kept as reconciliation) against polling alone, from the measured calls per sync and per poll.
 *
 *   npx tsx bench/connect.ts      CONNECT_SAMPLES=100  CONNECT_DEBOUNCE_MS=500,2000
 *
 * Temporal: TEST_TEMPORAL_ADDRESS=host:port to use a running server; else a dev server starts. Writes
 * bench/results/connect.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { ConnectorClient } from '../client/client';
import { connectionResolver, startConnectListener } from '../client/connect-listener';
import { BACKFILL_ALL, startHarness, type Harness } from '../test/helpers/connector';
import { createLogger } from '../worker/logger';
import { percentile, round } from './sync';

const SAMPLES = Number(process.env.CONNECT_SAMPLES ?? 100);
const DEBOUNCES_MS = (process.env.CONNECT_DEBOUNCE_MS ?? '500,2000').split(',').map(Number);
const ENVELOPES_PER_DAY = 1_000;
const HMAC_KEY = randomBytes(32).toString('base64');

const restCalls = (h: Harness) =>
  Object.entries(h.emu.stats.calls)
    .filter(([name]) => !name.includes('oauth'))
    .reduce((n, [, c]) => n + c, 0);

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Scenario {
  debounceMs: number;
  samples: number;
  latencyMs: { p50: number; p99: number; max: number; min: number };
  signals: number;
  /** Syncs (listing reads) the events caused: 0 when every event carried its envelope. */
  syncs: number;
  restCallsPerEvent: number;
}

async function scenario(h: Harness, client: ConnectorClient, debounceMs: number): Promise<Scenario> {
  const listener = await startConnectListener({
    port: 0,
    hmacKeys: [HMAC_KEY],
    debounceMs,
    resolveConnections: connectionResolver(client),
    deliver: (connectionId, events) => client.connectEvents(connectionId, events),
    logger: createLogger({ level: 'warn' }),
  });
  const connectionId = `bench-connect-${debounceMs}`;
  try {
    const { userId, accountId } = h.newAccount(500);
    const handle = await h.start(
      h.config(connectionId, { userId, backfillFrom: BACKFILL_ALL, syncIntervalMinutes: 720 }),
    );
    await client.consent(connectionId);
    await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs === 1, 120_000);
    h.emu.setConnect({ url: listener.webhookUrl, hmacKeys: [HMAC_KEY] });

    const latencies: number[] = [];
    const callsBefore = restCalls(h);
    for (let i = 0; i < SAMPLES; i++) {
      const total = (await client.status(connectionId)).totals.envelopes;
      const started = performance.now();
      h.emu.addEnvelope(accountId, { status: 'completed', subject: `Bench ${i}` });
      await until(async () => (await client.status(connectionId)).totals.envelopes > total, 30_000);
      latencies.push(performance.now() - started);
      await until(async () => (await client.status(connectionId)).phase === 'idle', 30_000);
    }
    const syncs = (await client.status(connectionId)).totals.syncs - 1;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      debounceMs,
      samples: SAMPLES,
      latencyMs: {
        p50: round(percentile(sorted, 50)),
        p99: round(percentile(sorted, 99)),
        min: round(sorted[0]!),
        max: round(sorted.at(-1)!),
      },
      signals: listener.counts.signals.delivered,
      syncs,
      restCallsPerEvent: round((restCalls(h) - callsBefore) / SAMPLES, 2),
    };
  } finally {
    h.emu.clearConnect();
    await listener.close();
    await client.disconnect(connectionId).catch(() => undefined);
  }
}

/** REST calls of one hourly poll of an account that changes ENVELOPES_PER_DAY / 24 envelopes an hour. */
async function pollCalls(h: Harness, client: ConnectorClient): Promise<number> {
  const connectionId = 'bench-connect-poll';
  const { userId, accountId } = h.newAccount(500);
  const handle = await h.start(
    h.config(connectionId, { userId, backfillFrom: BACKFILL_ALL, syncIntervalMinutes: 720 }),
  );
  await client.consent(connectionId);
  await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs === 1, 120_000);
  const calls: number[] = [];
  for (let hour = 0; hour < 5; hour++) {
    h.emu.mutate(accountId, Math.round(ENVELOPES_PER_DAY / 24));
    const before = restCalls(h);
    await client.syncAndWait(connectionId, { kinds: ['envelopes'] });
    calls.push(restCalls(h) - before);
  }
  await client.disconnect(connectionId);
  return Math.max(...calls);
}

async function main(): Promise<void> {
  const startedLoad = loadavg();
  const h = await startHarness({ emulator: { envelopes: 0 } });
  const client = await ConnectorClient.create({
    connection: h.env.connection,
    taskQueue: h.taskQueue,
    evidenceStore: h.storeDir,
  });
  try {
    const scenarios: Scenario[] = [];
    for (const debounceMs of DEBOUNCES_MS) {
      const s = await scenario(h, client, debounceMs);
      console.log(
        `debounce ${debounceMs} ms: completed → stored p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms ` +
          `(min ${s.latencyMs.min}, max ${s.latencyMs.max}) over ${s.samples}; ${s.restCallsPerEvent} REST calls per event, ${s.syncs} syncs`,
      );
      scenarios.push(s);
    }
    const perPoll = await pollCalls(h, client);
    const perEvent = Math.max(...scenarios.map((s) => s.restCallsPerEvent));
    // Events spread over the day (the worst case for debouncing): one signal each.
    const perDay = {
      pollingOnly: 24 * perPoll,
      webhooksWithHourlyReconciliation: Math.round(ENVELOPES_PER_DAY * perEvent + 24 * perPoll),
    };
    console.log(
      `1,000 envelopes/day: polling hourly ${perDay.pollingOnly} REST calls/day (${perPoll} per poll, evidence up to an hour late); ` +
        `webhooks + hourly reconciliation ${perDay.webhooksWithHourlyReconciliation} (${perEvent} calls per event: the events carry the envelope)`,
    );
    const out = {
      benchmark: 'connect',
      measuredAt: new Date().toISOString(),
      loadAverage: { start: startedLoad, end: loadavg() },
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      setup:
        'emulator, connect listener and worker in one process on loopback, dev server; one change at a time; latency = addEnvelope → the status total grew (the sync that stored it finished)',
      goal: { p99Ms: 2000 },
      scenarios,
      callsPerDay: { envelopesPerDay: ENVELOPES_PER_DAY, perPoll, perEvent, ...perDay },
    };
    const dir = path.join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'connect.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log('wrote bench/results/connect.json');
  } finally {
    await client.close();
    await h.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
