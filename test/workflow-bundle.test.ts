/**
 * What the workflow bundle loads. The SDK's reusable V8 context gives every cached workflow its own instance of each
 * module in the bundle, so a library there costs its whole heap once per connection: zod's was ~0.9 MB a workflow,
 * most of what a cached connection held (bench/README.md, "What each holds"). Validation with libraries belongs in
 * the client and the activities; a package new to this list needs that cost measured first.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { workflowCode } from './helpers/temporal';

/** The SDK and what it brings itself. */
const ALLOWED_PACKAGES = ['@temporalio/common', '@temporalio/workflow', 'long', 'ms', 'nexus-rpc'];

test('the workflow bundle holds only the workflow files and the SDK', async () => {
  const { workflowBundle } = await workflowCode();
  assert.ok(workflowBundle);
  const code = 'code' in workflowBundle ? workflowBundle.code : readFileSync(workflowBundle.codePath, 'utf8');
  // webpack names each module in a `/*!*** ./path ***!*/` banner.
  const modules = new Set([...code.matchAll(/\/\*!\*+!\*\\\n\s+!\*\*\* (\.\/[^ ]+) \*\*\*!/g)].map((m) => m[1]!));
  assert.ok(modules.size > 10, `module banners not found (${modules.size}): has the bundler's output changed?`);
  const packages = new Set([...modules].flatMap((m) => /^\.\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1] ?? []));
  assert.deepEqual([...packages].sort(), ALLOWED_PACKAGES);
  const own = [...modules].filter((m) => !m.startsWith('./node_modules/'));
  assert.ok(
    own.every((m) => m.startsWith('./workflows/')),
    `only workflows/ files: ${own.filter((m) => !m.startsWith('./workflows/')).join(', ')}`,
  );
});
