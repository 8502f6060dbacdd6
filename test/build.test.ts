/**
 * Production runs compiled JavaScript: `npm run build` compiles the product folders to dist/ and builds the workflow
 * bundles, and plain `node` (no tsx, no TypeScript) runs the worker and the CLI from there, finding what they load by
 * path at run time (the workflow bundle, the Temporal CLI under .tools for the embedded dev server).
 *
 * The build takes about half a minute, so dist/ is reused when it is newer than everything it is built from (the
 * workflow bundle is written last, so its time stamps a finished build); otherwise this runs `npm run build`.
 *
 *   npx tsx test/run.ts build
 */
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUNDLES } from '../scripts/build-bundle';
import { freePort } from '../worker/dev-server';
import { workflowIdOf, type ConnectionStatus } from '../workflows/messages';
import { BACKFILL_ALL, waitForStatus } from './helpers/connector';
import { startRig, startWorkerProcess, waitForPoller, type Rig } from './helpers/processes';
import { devServerEnv, uniqueTaskQueue } from './helpers/temporal';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const BUNDLE = path.join(DIST, BUNDLES.plain);
const COMPILED_WORKER = ['dist/worker/main.js'];
const PRODUCT = (JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] })
  .include;

/** Newest modification time of what the build reads. */
function newestInput(): number {
  const files = [
    ...PRODUCT.flatMap((dir) =>
      readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)),
    ),
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'scripts/build-bundle.ts',
  ];
  return Math.max(...files.map((f) => statSync(path.join(ROOT, f)).mtimeMs));
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the compiled build: node dist/…, no tsx', () => {
  let env: TestWorkflowEnvironment;
  let rig: Rig;
  let work: string;

  before(async () => {
    if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < newestInput()) {
      const build = await run('npm', ['run', '--silent', 'build']);
      assert.equal(build.code, 0, `npm run build failed:\n${build.out}`);
    }
    env = await devServerEnv();
    rig = await startRig({ envelopes: 40 });
    work = mkdtempSync(path.join(tmpdir(), 'build-test-'));
  });

  after(async () => {
    await rig?.close();
    await env?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('dist/ holds the product folders and the two workflow bundles, nothing else', () => {
    assert.deepEqual(readdirSync(DIST).sort(), [...PRODUCT, ...Object.values(BUNDLES)].sort());
    assert.ok(existsSync(path.join(DIST, 'worker', 'main.js')) && existsSync(path.join(DIST, 'client', 'cli.js')));
  });

  test('the compiled worker on TEMPORAL_ADDRESS runs a connection that the compiled CLI connects, syncs and reads', async () => {
    const taskQueue = uniqueTaskQueue('compiled');
    const evidenceStore = path.join(work, 'evidence');
    const worker = await startWorkerProcess({
      address: env.address,
      taskQueue,
      evidenceStore,
      nodeArgs: COMPILED_WORKER,
      env: { ...rig.workerEnv, WORKFLOW_BUNDLE_PATH: BUNDLE },
    });
    try {
      await waitForPoller(env.client, worker, taskQueue);
      const cliEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        EVIDENCE_STORE: evidenceStore,
        ...rig.workerEnv,
      };
      const cli = (...args: string[]) => run(process.execPath, ['dist/client/cli.js', ...args], cliEnv);
      const config = rig.config(`compiled-${randomUUID().slice(0, 8)}`);
      const id = config.connectionId;
      const connect = await cli(
        'connect',
        ...['--connection', id, '--environment', config.environment, '--integration-key', config.integrationKey],
        ...['--user-id', config.userId, '--private-key-ref', config.privateKeyRef],
        ...['--oauth-base-url', config.oauthBaseUrl ?? '', '--backfill-from', BACKFILL_ALL],
      );
      assert.equal(connect.code, 0, connect.out);
      assert.match(connect.out, /^consent URL: /m);
      assert.equal((await cli('consent', '--connection', id)).code, 0);
      const handle = env.client.workflow.getHandle(workflowIdOf(id));
      await waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs >= 1);

      const sync = await cli('sync', '--connection', id, '--wait', '--json');
      assert.equal(sync.code, 0, sync.out);
      const status = await cli('status', '--connection', id, '--json');
      assert.equal(status.code, 0, status.out);
      const json = JSON.parse(status.out) as ConnectionStatus;
      assert.equal(json.phase, 'idle');
      assert.ok(json.totals.envelopes > 0 && json.totals.syncs >= 2, status.out);
      const evidence = await cli('evidence', '--connection', id, '--json');
      assert.equal(evidence.code, 0, evidence.out);
      assert.equal(evidence.out.trim().split('\n').length, json.totals.envelopes);
      // Bad input through the compiled CLI: exit 2, one line.
      const bad = await cli('status', '--connection', 'Not An ID');
      assert.deepEqual([bad.code, bad.out.trim().split('\n').length], [2, 1], bad.out);
    } finally {
      await worker.stop();
    }
    const exited = await worker.exited;
    assert.equal(exited.code, 0, worker.output.join('\n'));
  });

  test('the compiled worker without TEMPORAL_ADDRESS starts the embedded dev server (its CLI found from dist/worker)', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const taskQueue = uniqueTaskQueue('compiled-embedded');
    const worker = await startWorkerProcess({
      address: '', // blank = unset: the embedded dev server
      taskQueue,
      evidenceStore: path.join(work, 'embedded-evidence'),
      logLevel: 'info',
      nodeArgs: COMPILED_WORKER,
      env: {
        DEV_SERVER_PORT: String(port),
        DEV_SERVER_UI_PORT: String(uiPort),
        DEV_SERVER_DB: path.join(work, 'embedded', 'temporal.sqlite'),
        WORKFLOW_BUNDLE_PATH: BUNDLE,
        WORKFLOW_CACHE_SIZE: '50',
        STICKY_QUEUE_TIMEOUT_MS: '2500',
        // Where this machine keeps the Temporal CLI if not in the project's .tools (the worker looks at both).
        ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
      },
    });
    const connection = Connection.lazy({ address: `127.0.0.1:${port}` });
    try {
      await waitForPoller(new Client({ connection }), worker, taskQueue);
    } finally {
      await worker.stop();
      await connection.close();
    }
    const exited = await worker.exited;
    assert.equal(exited.code, 0, worker.output.join('\n'));
    const output = worker.output.join('\n');
    assert.match(output, new RegExp(`Temporal UI: http://127\\.0\\.0\\.1:${uiPort}`));
    assert.match(output, /"msg":"worker stopped"/);
    // The capacity settings as the SDK compiled them: this fails if the worker does not hand them over.
    const running = worker.output.find((line) => line.includes('"msg":"worker running"'));
    assert.ok(running, output);
    const logged = JSON.parse(running.replace(/^\[stdout\] /, '')) as Record<string, unknown>;
    assert.deepEqual(
      [logged.maxCachedWorkflows, logged.stickyQueueTimeoutMs, logged.syncConcurrency],
      [50, 2500, 4],
      running,
    );
  });
});
