import { describe, expect, it } from 'vitest';
import { DeadlineError, OverloadedError } from '../errors.js';
import { MicroBatcher } from './batcher.js';

function recorder(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (inputs: number[]) => {
    batches.push([...inputs]);
    await new Promise((r) => setTimeout(r, delayMs));
    return inputs.map((x) => x * 10);
  };
  return { batches, run };
}

describe('MicroBatcher', () => {
  it('runs requests that arrive within the window as one batch, outputs in order', async () => {
    const { batches, run } = recorder();
    const b = new MicroBatcher({ run, maxBatch: 32, windowMs: 5, maxQueue: 100 });
    const results = await Promise.all([b.submit([1, 2]), b.submit([3]), b.submit([4, 5, 6])]);
    expect(results).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(batches).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('never exceeds maxBatch, splitting a large request across batches', async () => {
    const { batches, run } = recorder();
    const b = new MicroBatcher({ run, maxBatch: 4, windowMs: 1, maxQueue: 100 });
    const out = await b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(batches.map((x) => x.length)).toEqual([4, 4, 2]);
  });

  it('batches what piled up while the model was busy, without waiting for the window', async () => {
    const batches: number[][] = [];
    const release: (() => void)[] = [];
    const run = (xs: number[]) => {
      batches.push([...xs]);
      return new Promise<number[]>((resolve) => {
        release.push(() => {
          resolve(xs);
        });
      });
    };
    // A window far longer than the test: if the second batch waited for it, it would not exist.
    const b = new MicroBatcher({ run, maxBatch: 8, windowMs: 3_600_000, maxQueue: 100 });
    const first = b.submit([1, 2, 3, 4, 5, 6, 7, 8]); // full: runs at once
    const rest = [b.submit([9]), b.submit([10])];
    expect(batches).toHaveLength(1);
    release[0]?.();
    await first;
    expect(batches).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10],
    ]);
    release[1]?.();
    await expect(Promise.all(rest)).resolves.toEqual([[9], [10]]);
  });

  it('rejects at once when the queue is full', async () => {
    const { run } = recorder(20);
    const b = new MicroBatcher({ run, maxBatch: 2, windowMs: 0, maxQueue: 3 });
    const running = b.submit([1, 2]);
    const queued = b.submit([3, 4, 5]);
    await expect(b.submit([6])).rejects.toBeInstanceOf(OverloadedError);
    await expect(Promise.all([running, queued])).resolves.toEqual([
      [10, 20],
      [30, 40, 50],
    ]);
  });

  it('drops a queued request whose signal aborts, and never runs it', async () => {
    const { batches, run } = recorder(20);
    const b = new MicroBatcher({ run, maxBatch: 2, windowMs: 0, maxQueue: 10 });
    const running = b.submit([1, 2]);
    const ac = new AbortController();
    const dropped = b.submit([3], ac.signal);
    ac.abort();
    await expect(dropped).rejects.toBeInstanceOf(DeadlineError);
    await running;
    expect(batches).toEqual([[1, 2]]);
    expect(b.queued).toBe(0);
  });

  it('fails every request of a batch whose run fails, then keeps serving', async () => {
    let fail = true;
    const b = new MicroBatcher({
      run: (xs: number[]) => (fail ? Promise.reject(new Error('boom')) : Promise.resolve(xs)),
      maxBatch: 8,
      windowMs: 2,
      maxQueue: 10,
    });
    const r = await Promise.allSettled([b.submit([1]), b.submit([2])]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(b.submit([3])).resolves.toEqual([3]);
  });

  it('drains accepted work on close and refuses new work', async () => {
    const { run } = recorder(10);
    const b = new MicroBatcher({ run, maxBatch: 1, windowMs: 0, maxQueue: 10 });
    const jobs = [b.submit([1]), b.submit([2]), b.submit([3])];
    await b.close();
    await expect(Promise.all(jobs)).resolves.toEqual([[10], [20], [30]]);
    await expect(b.submit([4])).rejects.toThrow(/shutting down/);
  });

  it('runs up to `concurrency` batches at once (one per worker)', async () => {
    let inFlight = 0;
    let peak = 0;
    const b = new MicroBatcher({
      run: async (xs: number[]) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
        return xs;
      },
      maxBatch: 2,
      windowMs: 0,
      maxQueue: 100,
      concurrency: 2,
    });
    const out = await Promise.all([b.submit([1, 2]), b.submit([3, 4]), b.submit([5, 6])]);
    expect(out).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(peak).toBe(2);
  });

  it('spreads a burst over idle workers rather than one full batch on one worker', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher({
      run: async (xs: number[]) => {
        sizes.push(xs.length);
        await new Promise((r) => setTimeout(r, 5));
        return xs;
      },
      maxBatch: 32,
      windowMs: 5,
      maxQueue: 100,
      concurrency: 2,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit([i])));
    expect(sizes).toEqual([5, 5]);
  });
});
