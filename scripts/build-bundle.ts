/**
 * The workflow bundles for production, built by `npm run build` after the TypeScript compile (`tsx
 * scripts/build-bundle.ts [outDir]`, default dist/). A worker given one in WORKFLOW_BUNDLE_PATH skips bundling at
 * start. Two variants, because the failure converter lives inside the bundle:
 *
 *   workflow-bundle.js                     for workers without PAYLOAD_CODEC_KEYS (the SDK's failure converter)
 *   workflow-bundle-encrypted-failures.js  for workers with PAYLOAD_CODEC_KEYS: failure messages and stack traces go
 *                                          into the encrypted payload (common/failure-converter.ts)
 *
 * Build them with the same @temporalio/worker version that runs them (the lockfile's).
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../common/codec';

export const BUNDLES = {
  plain: 'workflow-bundle.js',
  encryptedFailures: 'workflow-bundle-encrypted-failures.js',
} as const;

const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };

async function main() {
  const outDir = path.resolve(process.argv[2] ?? 'dist');
  const workflowsPath = require.resolve('../workflows');
  const [plain, encrypted] = await Promise.all([
    bundleWorkflowCode({ workflowsPath, logger: quiet }),
    bundleWorkflowCode({ workflowsPath, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quiet }),
  ]);
  mkdirSync(outDir, { recursive: true });
  for (const [name, { code }] of [
    [BUNDLES.plain, plain],
    [BUNDLES.encryptedFailures, encrypted],
  ] as const) {
    const out = path.join(outDir, name);
    writeFileSync(out, code);
    console.log(`workflow bundle: ${path.relative(process.cwd(), out)} (${(code.length / 1024).toFixed(0)} KiB)`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`build-bundle: ${(err as Error).message}`);
    process.exit(1);
  });
}
