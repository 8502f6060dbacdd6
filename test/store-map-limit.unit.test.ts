/** Bounded concurrency (activities/store/map-limit.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapLimit } from '../activities/store/map-limit';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  test('runs every item, never more than `limit` at once', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      done.push(n);
      running--;
    });
    assert.deepEqual(done.sort(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(peak, 3);
  });

  test('no items: nothing runs', async () => {
    await mapLimit([], 4, () => Promise.reject(new Error('called')));
  });

  test('the first failure rejects once the started items settle; no new item starts after it', async () => {
    const started: number[] = [];
    const first = new Error('first');
    await assert.rejects(
      mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
        started.push(n);
        await tick();
        if (n === 1) throw first;
        if (n === 2) throw new Error('second');
      }),
      (err) => err === first,
    );
    assert.deepEqual(started, [1, 2], 'nothing started after the failures');
  });

  test('items in flight when another fails still settle before the rejection', async () => {
    const settled: number[] = [];
    await assert.rejects(
      mapLimit([1, 2], 2, async (n) => {
        if (n === 1) throw new Error('fast failure');
        await tick();
        await tick();
        settled.push(n);
      }),
      /fast failure/,
    );
    assert.deepEqual(settled, [2]);
  });
});
