/**
 * bench/store.ts — bare write throughput of the Postgres evidence store (issue 15, goal 4: ≥ 10,000 envelopes/s).
 *
 * The envelopes are the emulator's wire JSON (recipients included, as the sync lists them), generated and parsed
 * before the clock starts, so only `writePage` is timed: validation, serialisation, the transaction. Each scenario
 * writes every page of a fresh connection (new IDs, so nothing is a re-delivery), with a sync checkpoint per page as
 * the sync writes it; `writers` connections write at the same time. A re-delivery pass writes the same pages again
 * (all unchanged: the idempotent path a retried sync takes).
 *
 *   npx tsx bench/store.ts      (EVIDENCE_STORE=postgres://… or TEST_POSTGRES_URL, else scripts/start-postgres.sh's;
 *                                STORE_ENVELOPES default 20000, STORE_WRITERS default 1,2,4, STORE_OUT default store.json)
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PostgresStore } from '../activities/store/postgres';
import type { EnvelopeRecord } from '../activities/store/types';
import { DEFAULT_SYNC_OPTIONS } from '../activities/sync';
import { createAccount, generateEnvelopes } from '../emulator/data';
import { envelopeJson } from '../emulator/wire';
import { machine, printTable } from './sync';

const ENVELOPES = Number(process.env.STORE_ENVELOPES ?? 20_000);
const WRITERS = (process.env.STORE_WRITERS ?? '1,2,4').split(',').map(Number);
const PAGE_SIZE = DEFAULT_SYNC_OPTIONS.pageSize;
const GOAL_PER_S = 10_000;

type Page = Omit<EnvelopeRecord, 'connectionId'>[];

function pagesOfWireJson(): { pages: Page[]; bytes: number } {
  const now = Date.now();
  const account = createAccount(
    15,
    { accountId: randomUUID(), accountName: 'Bench', region: 'na2', signingGroups: 0 },
    now,
  );
  const envelopes = generateEnvelopes(account, { count: ENVELOPES, days: 400, now, seed: 15 });
  const syncedAt = new Date(now).toISOString();
  let bytes = 0;
  const records = envelopes.map((e) => {
    const json = envelopeJson(e, true);
    bytes += json.length;
    const envelope = JSON.parse(json) as Record<string, unknown> & { envelopeId: string; status: string };
    return {
      envelopeId: envelope.envelopeId,
      status: envelope.status,
      statusChangedDateTime: envelope.statusChangedDateTime as string,
      syncedAt,
      envelope,
    };
  });
  const pages: Page[] = [];
  for (let i = 0; i < records.length; i += PAGE_SIZE) pages.push(records.slice(i, i + PAGE_SIZE));
  return { pages, bytes };
}

/** Every page into `writers` fresh connections at once; the checkpoint goes with each page, as in the sync. */
async function writeAll(store: PostgresStore, pages: Page[], connections: string[]) {
  const t0 = performance.now();
  let changed = 0;
  const pageMs: number[] = [];
  await Promise.all(
    connections.map(async (connectionId) => {
      for (const [i, page] of pages.entries()) {
        const p0 = performance.now();
        const result = await store.writePage(
          connectionId,
          page.map((r) => ({ ...r, connectionId })),
          {
            syncId: 'bench',
            progress: { toDate: '2026-12-02T00:00:00.000Z', windowStart: '2025-01-01T00:00:00.000Z', pages: i + 1 },
          },
        );
        pageMs.push(performance.now() - p0);
        changed += result.changed.length;
      }
    }),
  );
  const ms = performance.now() - t0;
  pageMs.sort((a, b) => a - b);
  return {
    ms: Math.round(ms),
    envelopes: pages.reduce((s, p) => s + p.length, 0) * connections.length,
    changed,
    perSecond: Math.round((pages.reduce((s, p) => s + p.length, 0) * connections.length) / (ms / 1000)),
    pageMsP50: Math.round(pageMs[Math.floor(pageMs.length / 2)]! * 10) / 10,
    pageMsP99: Math.round(pageMs[Math.floor(pageMs.length * 0.99)]! * 10) / 10,
  };
}

async function postgresSettings(url: string): Promise<Record<string, string>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`,
      [['fsync', 'synchronous_commit', 'full_page_writes', 'server_version', 'shared_buffers']],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  // Else the tests' throwaway cluster (started, or reused if it runs).
  const url =
    process.env.EVIDENCE_STORE ??
    process.env.TEST_POSTGRES_URL ??
    execFileSync('bash', [path.join(__dirname, '..', 'scripts', 'start-postgres.sh')], { encoding: 'utf8' }).trim();
  const { pages, bytes } = pagesOfWireJson();
  const count = pages.reduce((s, p) => s + p.length, 0);
  console.log(`${count} envelopes in ${pages.length} pages, ${Math.round(bytes / count)} bytes of JSON each`);
  const store = new PostgresStore(url, { maxConnections: Math.max(...WRITERS) + 2 });
  await store.init();
  const settings = await postgresSettings(url);
  const runId = randomUUID().slice(0, 8);
  const scenarios = [];
  try {
    for (const writers of WRITERS) {
      const connections = Array.from({ length: writers }, (_, i) => `bench-store-${runId}-${writers}-${i}`);
      const first = await writeAll(store, pages, connections);
      const again = await writeAll(store, pages, connections);
      if (first.changed !== first.envelopes || again.changed !== 0) {
        throw new Error(`unexpected changes: first ${first.changed}/${first.envelopes}, re-delivery ${again.changed}`);
      }
      scenarios.push({ writers, first, redelivery: again });
      console.log(`${writers} writer(s): ${first.perSecond}/s new, ${again.perSecond}/s re-delivered`);
    }
  } finally {
    await store.close();
  }
  const best = Math.max(...scenarios.map((s) => s.first.perSecond));
  printTable(
    ['writers', 'new envelopes/s', 'page p50 / p99', 're-delivered/s', 'page p50 / p99'],
    scenarios.map((s) => [
      String(s.writers),
      String(s.first.perSecond),
      `${s.first.pageMsP50} / ${s.first.pageMsP99} ms`,
      String(s.redelivery.perSecond),
      `${s.redelivery.pageMsP50} / ${s.redelivery.pageMsP99} ms`,
    ]),
  );
  console.log(`best: ${best}/s (goal ≥ ${GOAL_PER_S}/s ${best >= GOAL_PER_S ? 'met' : 'NOT met'})`);
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = process.env.STORE_OUT ?? 'store.json';
  const result = {
    at: new Date().toISOString(),
    machine: machine(),
    postgres: settings,
    envelopes: count,
    pageSize: PAGE_SIZE,
    bytesPerEnvelope: Math.round(bytes / count),
    goalPerSecond: GOAL_PER_S,
    bestPerSecond: best,
    scenarios,
  };
  writeFileSync(path.join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${file}`);
}

main().catch((err: unknown) => {
  console.error(`bench/store: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
