import { describe, expect, it } from 'vitest';
import { DeadlineError, OverloadedError } from '../errors.js';
import { SlotScheduler } from './slots.js';

describe('SlotScheduler', () => {
  it('hands out at most `slots` leases at once', async () => {
    const s = new SlotScheduler({ slots: 2, maxQueue: 10 });
    const a = await s.acquire('x');
    const b = await s.acquire('x');
    let third = false;
    const c = s.acquire('x').then((r) => {
      third = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(third).toBe(false);
    expect(s.busy).toBe(2);
    a();
    (await c)();
    b();
    expect(s.busy).toBe(0);
  });

  it('serves identities round-robin so one client cannot starve another', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 100 });
    const order: string[] = [];
    const hold = await s.acquire('greedy');
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => ['greedy', i] as const),
      ['polite', 0] as const,
      ['other', 0] as const,
    ].map(([who, i]) =>
      s.acquire(who).then((release) => {
        order.push(`${who}${i}`);
        release();
      }),
    );
    hold();
    await Promise.all(jobs);
    expect(order.slice(0, 3)).toEqual(['greedy0', 'polite0', 'other0']);
    expect(order).toHaveLength(7);
  });

  it('rejects at once when the wait queue is full', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 1 });
    const hold = await s.acquire('a');
    const waiting = s.acquire('b');
    await expect(s.acquire('c')).rejects.toBeInstanceOf(OverloadedError);
    hold();
    (await waiting)();
  });

  it('removes a waiter whose signal aborts, and the slot goes to the next one', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10 });
    const hold = await s.acquire('a');
    const ac = new AbortController();
    const gone = s.acquire('b', ac.signal);
    const next = s.acquire('c');
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(DeadlineError);
    expect(s.waiting).toBe(1);
    hold();
    (await next)();
    expect(s.busy).toBe(0);
  });

  it('a lease released twice frees only one slot', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10 });
    const release = await s.acquire('a');
    release();
    release();
    expect(s.busy).toBe(0);
    await s.acquire('a');
    expect(s.busy).toBe(1);
  });

  it('close waits for leases to come back, then refuses', async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 10 });
    const release = await s.acquire('a');
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false);
    release();
    await closing;
    await expect(s.acquire('a')).rejects.toThrow(/shutting down/);
  });
});
