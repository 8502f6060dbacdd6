/**
 * `npm test` entry: starts ONE Temporal dev server and builds the workflow bundle ONCE, then runs every
 * `*.test.ts` under test/ with Node's test runner against them, and always stops the server afterwards.
 * A server that does not come up ends the run with a clear error instead of hanging it.
 */
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTemporalTools } from '../scripts/tools';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/messages';
import { quietBundlerLogger, WORKFLOWS_PATH } from './helpers/temporal';

const testDir = __dirname;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function testFiles(filter: string[]): string[] {
  const all = (readdirSync(testDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', f))
    .sort();
  return filter.length ? all.filter((f) => filter.some((x) => f.includes(x))) : all;
}

async function waitForServer(address: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`Temporal dev server exited with code ${server.exitCode}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.healthService.check({});
      await conn.close();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Temporal dev server not ready at ${address}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  if (!files.length) throw new Error('no test files matched');
  const tools = ensureTemporalTools();
  const work = mkdtempSync(path.join(tmpdir(), 'docusign-connector-test-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const server = spawn(
    tools.cli,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'error',
      '--db-filename',
      path.join(work, 'temporal.sqlite'),
      ...ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${searchAttributeTypeName(k.type)}`]),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const [, code] = await Promise.all([
      waitForServer(address, server, 30_000),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger }),
    ]);
    const bundlePath = path.join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, code.code);
    console.log(`# temporal dev server ${address} (${tools.cli}); ${files.length} test files`);
    const runner = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=2', '--test-timeout=300000', ...files],
      {
        stdio: 'inherit',
        env: { ...process.env, TEST_TEMPORAL_ADDRESS: address, TEST_WORKFLOW_BUNDLE: bundlePath, TEST_WORK_DIR: work },
      },
    );
    return await new Promise<number>((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

function searchAttributeTypeName(type: string): string {
  // 'KEYWORD' -> 'Keyword', 'DATETIME' -> 'Datetime' (the CLI's spelling)
  return type.charAt(0) + type.slice(1).toLowerCase();
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`test run failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
