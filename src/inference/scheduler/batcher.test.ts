import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineError, OverloadedError, RequestCancelledError } from '../errors.js';
import { MicroBatcher } from './batcher.js';

/** Generous deadline for the tests that are not about deadlines. */
const T = 60_000;
const A = { identity: 'a' };

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
    const b = new MicroBatcher({ run, maxBatch: 32, windowMs: 5, maxQueue: 100, timeoutMs: T });
    const results = await Promise.all([
      b.submit([1, 2], A),
      b.submit([3], A),
      b.submit([4, 5, 6], A),
    ]);
    expect(results).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(batches).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('never exceeds maxBatch, splitting a large request across batches', async () => {
    const { batches, run } = recorder();
    const b = new MicroBatcher({ run, maxBatch: 4, windowMs: 1, maxQueue: 100, timeoutMs: T });
    const out = await b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], A);
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
    const b = new MicroBatcher({
      run,
      maxBatch: 8,
      windowMs: 3_600_000,
      maxQueue: 100,
      timeoutMs: T,
    });
    const first = b.submit([1, 2, 3, 4, 5, 6, 7, 8], A); // full: runs at once
    const rest = [b.submit([9], A), b.submit([10], A)];
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
    const b = new MicroBatcher({ run, maxBatch: 2, windowMs: 0, maxQueue: 3, timeoutMs: T });
    const running = b.submit([1, 2], A);
    const queued = b.submit([3, 4, 5], A);
    await expect(b.submit([6], A)).rejects.toBeInstanceOf(OverloadedError);
    await expect(Promise.all([running, queued])).resolves.toEqual([
      [10, 20],
      [30, 40, 50],
    ]);
  });

  it('drops a queued request whose signal aborts, and never runs it', async () => {
    const { batches, run } = recorder(20);
    const b = new MicroBatcher({ run, maxBatch: 2, windowMs: 0, maxQueue: 10, timeoutMs: T });
    const running = b.submit([1, 2], A);
    const ac = new AbortController();
    const dropped = b.submit([3], { identity: 'a', signal: ac.signal });
    ac.abort();
    await expect(dropped).rejects.toBeInstanceOf(RequestCancelledError);
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
      timeoutMs: T,
    });
    const r = await Promise.allSettled([b.submit([1], A), b.submit([2], A)]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(b.submit([3], A)).resolves.toEqual([3]);
  });

  it('drains accepted work on close and refuses new work', async () => {
    const { run } = recorder(10);
    const b = new MicroBatcher({ run, maxBatch: 1, windowMs: 0, maxQueue: 10, timeoutMs: T });
    const jobs = [b.submit([1], A), b.submit([2], A), b.submit([3], A)];
    await b.close();
    await expect(Promise.all(jobs)).resolves.toEqual([[10], [20], [30]]);
    await expect(b.submit([4], A)).rejects.toThrow(/shutting down/);
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
      timeoutMs: T,
      concurrency: 2,
    });
    const out = await Promise.all([b.submit([1, 2], A), b.submit([3, 4], A), b.submit([5, 6], A)]);
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
      timeoutMs: T,
      concurrency: 2,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit([i], A)));
    expect(sizes).toEqual([5, 5]);
  });
});

/** A model whose batches finish only when the test says so. */
function gated() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const run = (xs: string[]) => {
    batches.push([...xs]);
    return new Promise<string[]>((resolve) => {
      gates.push(() => {
        resolve(xs.map((x) => x.toUpperCase()));
      });
    });
  };
  /** Lets the oldest running batch finish, then lets the batcher react. */
  const finish = async () => {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  /** Finishes batches until none runs. */
  const drain = async () => {
    while (gates.length > 0) await finish();
  };
  return { batches, run, finish, drain };
}

const inputs = (who: string, n: number) => Array.from({ length: n }, (_, i) => `${who}${i}`);

describe('MicroBatcher fairness', () => {
  it("puts B's one input in the batch right after A's first, while A has 2,000 queued", async () => {
    const m = gated();
    const b = new MicroBatcher({
      run: m.run,
      maxBatch: 32,
      windowMs: 0,
      maxQueue: 256,
      timeoutMs: T,
    });
    const a = b.submit(inputs('a', 2048), { identity: 'A' });
    const one = b.submit(['b0'], { identity: 'B' });
    expect(m.batches).toHaveLength(1);
    expect(m.batches[0]).toEqual(inputs('a', 32));
    await m.finish();
    expect(m.batches[1]).toContain('b0');
    expect(m.batches[1]).toHaveLength(32);
    await m.finish();
    await expect(one).resolves.toEqual(['B0']);
    await m.drain();
    expect(m.batches).toHaveLength(65);
    expect((await a).slice(-2)).toEqual(['A2046', 'A2047']);
    expect(b.hasTimers).toBe(false);
  });

  it('fills each batch round-robin across identities, the last served moving to the back', async () => {
    const m = gated();
    const b = new MicroBatcher({
      run: m.run,
      maxBatch: 4,
      windowMs: 0,
      maxQueue: 256,
      timeoutMs: T,
    });
    const busy = b.submit(['x'], { identity: 'X' }); // holds the model while the others queue
    const jobs = [
      b.submit(inputs('a', 6), { identity: 'A' }),
      b.submit(inputs('b', 3), { identity: 'B' }),
      b.submit(['c0'], { identity: 'C' }),
    ];
    await m.drain();
    await Promise.all([busy, ...jobs]);
    expect(m.batches).toEqual([
      ['x'],
      ['a0', 'b0', 'c0', 'a1'],
      ['b1', 'a2', 'b2', 'a3'],
      ['a4', 'a5'],
    ]);
  });

  it('keeps each identity within its share, and the last share free for newcomers', async () => {
    const m = gated();
    // maxQueue 16: share 4; identities already waiting may fill 12 of it.
    const b = new MicroBatcher({
      run: m.run,
      maxBatch: 2,
      windowMs: 0,
      maxQueue: 16,
      timeoutMs: T,
    });
    const settled: Promise<unknown>[] = [b.submit(['x0', 'x1'], { identity: 'X' })]; // running
    const big = (who: string) => b.submit(inputs(who, 100), { identity: who });
    settled.push(big('A'));
    // A already waits: one more input is over its share.
    await expect(b.submit(['a'], { identity: 'A' })).rejects.toBeInstanceOf(OverloadedError);
    settled.push(big('C'), big('D'));
    // Three large requests hold 12 counted units: a fourth large one would eat the reserve.
    await expect(big('E')).rejects.toBeInstanceOf(OverloadedError);
    // Light newcomers still get in, up to the bound.
    for (const who of ['F', 'G', 'H', 'I']) settled.push(b.submit([who], { identity: who }));
    await expect(b.submit(['j'], { identity: 'J' })).rejects.toBeInstanceOf(OverloadedError);
    await m.drain();
    await expect(Promise.all(settled)).resolves.toHaveLength(8);
  });
});

describe('MicroBatcher deadlines and cancellation', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops the queued inputs of a request whose client left; its running batch finishes', async () => {
    const m = gated();
    const b = new MicroBatcher({
      run: m.run,
      maxBatch: 4,
      windowMs: 0,
      maxQueue: 256,
      timeoutMs: T,
    });
    const ac = new AbortController();
    const gone = b.submit(inputs('a', 100), { identity: 'A', signal: ac.signal });
    const other = b.submit(['b0'], { identity: 'B' });
    expect(b.queued).toBe(97);
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(RequestCancelledError);
    expect(b.queued).toBe(1);
    await m.finish();
    await m.finish();
    await expect(other).resolves.toEqual(['B0']);
    expect(m.batches).toEqual([inputs('a', 4), ['b0']]);
    expect(b.hasTimers).toBe(false);
  });

  it('fails a request split over many batches with 504 when its deadline passes, and frees its inputs', async () => {
    vi.useFakeTimers();
    const m = gated();
    const b = new MicroBatcher({
      run: m.run,
      maxBatch: 4,
      windowMs: 0,
      maxQueue: 256,
      timeoutMs: 1_000,
      now: () => Date.now(),
    });
    const slow = b.submit(inputs('a', 100), { identity: 'A' });
    const outcome = slow.catch((err: unknown) => err);
    void m.finish(); // batch 1 done, batch 2 starts
    await vi.advanceTimersByTimeAsync(10);
    expect(m.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toBeInstanceOf(DeadlineError);
    expect(b.queued).toBe(0);
    // The batch that was running finishes; nothing of the request runs after it.
    void m.finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(m.batches).toHaveLength(2);
    expect(b.hasTimers).toBe(false);
    // The model serves the next request normally.
    const next = b.submit(['b0'], { identity: 'B' });
    void m.finish();
    await vi.advanceTimersByTimeAsync(0);
    await expect(next).resolves.toEqual(['B0']);
  });

  it('leaves no timer behind once its work is done', async () => {
    const { run } = recorder(1);
    const b = new MicroBatcher({ run, maxBatch: 4, windowMs: 2, maxQueue: 256, timeoutMs: T });
    await Promise.all([b.submit([1, 2, 3, 4, 5], A), b.submit([6], { identity: 'b' })]);
    expect(b.hasTimers).toBe(false);
  });
});
