import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineError, OverloadedError, RequestCancelledError } from '../errors.js';
import { SlotScheduler } from './slots.js';

const T = 60_000;
const as = (identity: string, signal?: AbortSignal) => ({ identity, signal });

describe('SlotScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out at most `slots` leases at once', async () => {
    const s = new SlotScheduler({ slots: 2, maxQueue: 10, timeoutMs: T });
    const a = await s.acquire(as('x'));
    const b = await s.acquire(as('x'));
    let third = false;
    const c = s.acquire(as('x')).then((r) => {
      third = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(third).toBe(false);
    expect(s.busy).toBe(2);
    a.release();
    (await c).release();
    b.release();
    expect(s.busy).toBe(0);
    expect(s.hasTimers).toBe(false);
  });

  it('serves identities round-robin so one client cannot starve another', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 100, timeoutMs: T });
    const order: string[] = [];
    const hold = await s.acquire(as('greedy'));
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => ['greedy', i] as const),
      ['polite', 0] as const,
      ['other', 0] as const,
    ].map(([who, i]) =>
      s.acquire(as(who)).then((lease) => {
        order.push(`${who}${i}`);
        lease.release();
      }),
    );
    hold.release();
    await Promise.all(jobs);
    expect(order.slice(0, 3)).toEqual(['greedy0', 'polite0', 'other0']);
    expect(order).toHaveLength(7);
  });

  it('rejects at once when the wait queue is full', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 1, timeoutMs: T });
    const hold = await s.acquire(as('a'));
    const waiting = s.acquire(as('b'));
    await expect(s.acquire(as('c'))).rejects.toBeInstanceOf(OverloadedError);
    hold.release();
    (await waiting).release();
  });

  it('counts the wait queue per identity: one caller cannot fill it', async () => {
    // maxQueue 8: share 2 per identity.
    const s = new SlotScheduler({ slots: 1, maxQueue: 8, timeoutMs: T });
    const hold = await s.acquire(as('a'));
    const queued = [s.acquire(as('a')), s.acquire(as('a'))];
    await expect(s.acquire(as('a'))).rejects.toBeInstanceOf(OverloadedError);
    queued.push(s.acquire(as('b')));
    expect(s.waiting).toBe(3);
    hold.release();
    await Promise.all(
      queued.map((q) =>
        q.then((lease) => {
          lease.release();
        }),
      ),
    );
    expect(s.busy).toBe(0);
  });

  it('removes a waiter whose client left (cancelled), and the slot goes to the next one', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: T });
    const hold = await s.acquire(as('a'));
    const ac = new AbortController();
    const gone = s.acquire(as('b', ac.signal));
    const next = s.acquire(as('c'));
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(RequestCancelledError);
    expect(s.waiting).toBe(1);
    hold.release();
    (await next).release();
    expect(s.busy).toBe(0);
  });

  it('aborts a running lease when its client leaves', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: T });
    const ac = new AbortController();
    const lease = await s.acquire(as('a', ac.signal));
    expect(lease.signal.aborted).toBe(false);
    ac.abort();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.timedOut).toBe(false);
    lease.release();
  });

  it('fails a waiter at its deadline and aborts a running lease at its deadline, with one timer', async () => {
    vi.useFakeTimers();
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: 1_000, now: Date.now });
    const running = await s.acquire(as('a'));
    await vi.advanceTimersByTimeAsync(500);
    const waiting = s.acquire(as('b'));
    const outcome = waiting.catch((err: unknown) => err);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(running.signal.aborted).toBe(true);
    expect(running.timedOut).toBe(true);
    expect(s.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(await outcome).toBeInstanceOf(DeadlineError);
    expect(s.waiting).toBe(0);
    running.release();
    expect(s.hasTimers).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("aborts the caller's own signal at the deadline when it can, instead of one of its own", async () => {
    vi.useFakeTimers();
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: 1_000, now: Date.now });
    const ac = new AbortController();
    const lease = await s.acquire({
      identity: 'a',
      signal: ac.signal,
      cancel: () => {
        ac.abort();
      },
    });
    expect(lease.signal).toBe(ac.signal);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ac.signal.aborted).toBe(true);
    expect(lease.timedOut).toBe(true);
    lease.release();
    expect(s.hasTimers).toBe(false);
  });

  it('a lease released twice frees only one slot', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: T });
    const lease = await s.acquire(as('a'));
    lease.release();
    lease.release();
    expect(s.busy).toBe(0);
    await s.acquire(as('a'));
    expect(s.busy).toBe(1);
  });

  it('close waits for leases to come back, then refuses', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10, timeoutMs: T });
    const lease = await s.acquire(as('a'));
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false);
    lease.release();
    await closing;
    await expect(s.acquire(as('a'))).rejects.toThrow(/shutting down/);
  });
});
