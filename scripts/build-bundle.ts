/**
 * Pre-builds the workflow bundle for production (`npm run build:bundle [-- --encrypted-failures] [out]`); the worker
 * uses it when WORKFLOW_BUNDLE_PATH is set instead of bundling at start. Workers with PAYLOAD_CODEC_KEYS need a bundle
 * built with --encrypted-failures (the failure converter lives inside the bundle); workers without keys need one
 * built without. Build it with the same @temporalio/worker version that runs it.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../common/codec';

async function main() {
  const args = process.argv.slice(2);
  const encryptedFailures = args.includes('--encrypted-failures');
  const out = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    ...(encryptedFailures ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
  });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err: unknown) => {
  console.error(`build-bundle: ${(err as Error).message}`);
  process.exit(1);
});
