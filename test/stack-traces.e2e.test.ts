/**
 * WORKFLOW_STACK_TRACES: the SDK records a stack trace for every promise a workflow creates (the `__stack_trace`
 * query, the UI's "Call Stack" tab), which costs 20–40 % of a replay's CPU (sdk-typescript#1587). Our patch
 * of @temporalio/worker (patches/) skips that unless the variable is `on`; the SDK then answers the query with its own
 * "not enabled" error. This fails if the patch is not applied (traces on either way) or the variable does not reach
 * the workflow threads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { statusQuery } from '../workflows/messages';
import { startHarness, type Harness } from './helpers/connector';

// A connection waiting for consent: its workflow is parked in a condition, so a stack trace has something to show.
async function waitingConnection(h: Harness, id: string) {
  const handle = await h.start(h.config(id));
  await h.waitForStatus(handle, (s) => s.phase === 'awaiting_consent');
  return handle;
}

describe('workflow stack traces', () => {
  let off: Harness;
  let on: Harness;
  before(async () => {
    off = await startHarness({ emulator: { envelopes: 1 } });
    on = await startHarness({ emulator: { envelopes: 1 }, workerEnv: { WORKFLOW_STACK_TRACES: 'on' } });
  });
  after(async () => {
    await Promise.all([off?.close(), on?.close()]);
  });

  test('off by default: the stack trace query says so, and the workflow still answers its own queries', async () => {
    const handle = await waitingConnection(off, 'stack-traces-off');
    await assert.rejects(handle.query('__stack_trace'), /stack traces are not enabled/);
    assert.equal((await handle.query(statusQuery)).phase, 'awaiting_consent');
  });

  test('on: the query shows where the workflow waits', async () => {
    const handle = await waitingConnection(on, 'stack-traces-on');
    const trace = await handle.query<string>('__stack_trace');
    assert.match(trace, /workflows\/connection\.ts:\d+/);
  });
});
