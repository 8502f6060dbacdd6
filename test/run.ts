/**
 * `npm test` entry: starts ONE Temporal dev server and builds the workflow bundle ONCE, then runs every
 * `*.test.ts` under test/ with Node's test runner against them, and always stops the server afterwards.
 * A server that does not come up ends the run with a clear error instead of hanging it.
 * `tsx test/run.ts <substring>…` runs only the files whose path contains one of the substrings.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTemporalTools } from '../scripts/tools';
import { startDevServer } from '../worker/dev-server';
import { quietBundlerLogger, WORKFLOWS_PATH } from './helpers/temporal';

function testFiles(filter: string[]): string[] {
  const all = (readdirSync(__dirname, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', f))
    .sort();
  return filter.length ? all.filter((f) => filter.some((x) => f.includes(x))) : all;
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  if (!files.length) throw new Error('no test files matched');
  const tools = ensureTemporalTools();
  const work = mkdtempSync(path.join(tmpdir(), 'docusign-connector-test-'));
  const [started, bundled] = await Promise.allSettled([
    startDevServer({ cliPath: tools.cli, dbFilename: path.join(work, 'temporal.sqlite'), port: 0 }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger }),
  ]);
  if (started.status === 'rejected' || bundled.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    rmSync(work, { recursive: true, force: true });
    throw (started.status === 'rejected' ? started.reason : (bundled as PromiseRejectedResult).reason) as Error;
  }
  const server = started.value;
  const bundle = bundled.value;
  try {
    const bundlePath = path.join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    console.log(`# temporal dev server ${server.address} (${tools.cli}); ${files.length} test files`);
    const runner = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=2', '--test-timeout=300000', ...files],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          TEST_TEMPORAL_ADDRESS: server.address,
          TEST_WORKFLOW_BUNDLE: bundlePath,
          TEST_WORK_DIR: work,
        },
      },
    );
    return await new Promise<number>((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`test run failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
