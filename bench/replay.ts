/**
 * What a cache miss costs: a connection evicted from the worker's workflow cache (WORKFLOW_CACHE_SIZE) replays its
 * whole history on its next workflow task (a token re-mint, a sync, a signal). This replays the recorded histories in
 * test/fixtures/histories (real runs, 40–150 events) through one replay worker, each ROUNDS times, and reports the
 * wall time per replay on this machine, with a least-squares line (ms = fixed + per-event × events) to read the cost
 * at other history lengths.
 *
 *   npx tsx bench/replay.ts            BENCH_ROUNDS=20 (replays of each history)
 *   WORKFLOW_STACK_TRACES=on|off       the worker's setting (default off, as the worker's); on = the SDK's stack trace
 *                                      of every promise too
 *
 * Prints a table and writes bench/results/replay.json.
 */
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { workerEnvSchema } from '../worker/env-schema';
import { MAX_HISTORY_EVENTS } from '../workflows/connection';
import { machine, printTable, round } from './sync';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
// Read by our SDK patch when the replay worker installs its hooks; validated and defaulted as the worker does.
const STACK_TRACES = workerEnvSchema.shape.WORKFLOW_STACK_TRACES.parse(process.env.WORKFLOW_STACK_TRACES);
process.env.WORKFLOW_STACK_TRACES = STACK_TRACES;
const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures', 'histories');

interface Measured {
  file: string;
  events: number;
  msPerReplay: number;
}

async function main(): Promise<void> {
  const files = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const measured: Measured[] = [];
  for (const file of files) {
    const history = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as { events: unknown[] };
    const copies = Array.from({ length: ROUNDS + 1 }, (_, i) => ({ workflowId: `replay-${i}`, history }));
    let started = 0;
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, copies)) {
      if (result.error) throw new Error(`${file}: ${String(result.error)}`);
      // The first replay warms the worker up (bundle load, JIT); the clock starts after it.
      if (replayed++ === 0) started = performance.now();
    }
    measured.push({ file, events: history.events.length, msPerReplay: (performance.now() - started) / ROUNDS });
  }

  const n = measured.length;
  const meanX = measured.reduce((s, m) => s + m.events, 0) / n;
  const meanY = measured.reduce((s, m) => s + m.msPerReplay, 0) / n;
  const perEvent =
    measured.reduce((s, m) => s + (m.events - meanX) * (m.msPerReplay - meanY), 0) /
    measured.reduce((s, m) => s + (m.events - meanX) ** 2, 0);
  const fixed = meanY - perEvent * meanX;
  const at = (events: number) => round(fixed + perEvent * events);

  printTable(
    ['history', 'events', 'ms per replay'],
    measured.map((m) => [m.file, String(m.events), String(round(m.msPerReplay, 2))]),
  );
  console.log(
    `\nWORKFLOW_STACK_TRACES=${STACK_TRACES}; fit: ${round(fixed, 2)} ms + ${round(perEvent * 100, 2)} ms per 100 events; ` +
      `125 events (a connection after onboarding): ${at(125)} ms; ` +
      `${MAX_HISTORY_EVENTS} (the continue-as-new cap): ${at(MAX_HISTORY_EVENTS)} ms`,
  );
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    path.join(__dirname, 'results', 'replay.json'),
    `${JSON.stringify(
      {
        benchmark: 'replay',
        measuredAt: new Date().toISOString(),
        machine: machine(),
        method: `Worker.runReplayHistories, one replay worker, ${ROUNDS} replays of each recorded history after one warm-up`,
        workflowStackTraces: STACK_TRACES,
        fit: { fixedMs: round(fixed, 2), msPer100Events: round(perEvent * 100, 2) },
        msAt125Events: at(125),
        msAtContinueAsNewCap: at(MAX_HISTORY_EVENTS),
        histories: measured.map((m) => ({ ...m, msPerReplay: round(m.msPerReplay, 2) })),
      },
      null,
      2,
    )}\n`,
  );
  console.log('wrote bench/results/replay.json');
}

main().catch((err: unknown) => {
  console.error(`bench/replay: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
