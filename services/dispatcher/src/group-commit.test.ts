import { describe, expect, it } from 'vitest';
import { groupCommit } from './group-commit.ts';

/** A flush that records each batch and waits until released. */
function recordingFlush() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const flush = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((item) => item * 10);
  };
  const releaseAll = () => releases.splice(0).forEach((release) => release());
  return { batches, flush, releaseAll };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('groupCommit', () => {
  it('puts calls made in the same turn into one flush, answering each with its own result', async () => {
    const { batches, flush, releaseAll } = recordingFlush();
    const call = groupCommit(flush, { maxBatch: 64, maxInFlight: 1 });
    const answers = Promise.all([1, 2, 3, 4].map((item) => call(item)));
    await tick();
    releaseAll();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes a lone call at once, and gathers the calls made meanwhile into the next flush', async () => {
    const { batches, flush, releaseAll } = recordingFlush();
    const call = groupCommit(flush, { maxBatch: 64, maxInFlight: 1 });
    const first = call(1);
    await tick();
    expect(batches).toEqual([[1]]);
    const later = [call(2), call(3)];
    await tick();
    await tick();
    expect(batches).toEqual([[1]]);
    releaseAll();
    expect(await first).toBe(10);
    await tick();
    expect(batches).toEqual([[1], [2, 3]]);
    releaseAll();
    expect(await Promise.all(later)).toEqual([20, 30]);
  });

  it('cuts batches at maxBatch and runs at most maxInFlight flushes at once', async () => {
    const { batches, flush, releaseAll } = recordingFlush();
    const call = groupCommit(flush, { maxBatch: 2, maxInFlight: 2 });
    const answers = Promise.all([1, 2, 3, 4, 5].map((item) => call(item)));
    await tick();
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    releaseAll();
    await tick();
    await tick();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    releaseAll();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
  });

  it('rejects every call of a failed flush with its error, and only those', async () => {
    let flushes = 0;
    const call = groupCommit(
      async (items: number[]) => {
        flushes += 1;
        await tick();
        if (items.includes(13)) throw new Error('unlucky batch');
        return items;
      },
      { maxBatch: 2, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([call(13), call(1), call(2), call(3)]);
    expect(flushes).toBe(2);
    expect(results.map((result) => result.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('unlucky batch'));
  });

  it('rejects when a flush answers a different number of results than items', async () => {
    const call = groupCommit(() => Promise.resolve([]), { maxBatch: 8, maxInFlight: 1 });
    await expect(call(1)).rejects.toThrow('a flush of 1 items gave 0 results');
  });
});
