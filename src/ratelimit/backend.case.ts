/**
 * @module ratelimit/backend.case — the conformance suite every LimiterBackend must pass, run by
 * memory.test.ts and redis.test.ts. Each test makes budgets with keys of its own (the Redis
 * suite shares one server), and moves time with the harness's `advance`, never by waiting.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetsFor } from './budgets.js';
import type { Budget, Charge, LimitName, LimiterBackend } from './types.js';

/** A backend under test and the means to move its clock. */
export interface BackendHarness {
  readonly backend: LimiterBackend;
  /** Moves the backend's notion of now forward by `ms`. */
  advance(ms: number): void;
  close(): Promise<void>;
}

const LEASE_MS = 60_000;

function budget(limit: LimitName, capacity: number, windowMs = 60_000): Budget {
  return {
    limit,
    identity: { kind: 'sub', id: 'conformance' },
    model: '*',
    capacity,
    windowMs: limit === 'concurrent-requests' ? 0 : windowMs,
    key: `test:${limit}:${randomUUID()}`,
  };
}

const take = (b: Budget, amount = 1): Charge => ({ budget: b, amount });

/** Runs the suite against the backends `open` makes (one per `describe`). */
export function backendConformance(name: string, open: () => Promise<BackendHarness>): void {
  describe(`limiter backend conformance: ${name}`, () => {
    let h: BackendHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });
    const remaining = async (b: Budget): Promise<number> =>
      (await h.backend.peek([b]))[0]?.remaining ?? -1;

    it('takes every charge or none', async () => {
      const wide = budget('requests-per-minute', 5);
      const narrow = budget('requests-per-minute', 1);
      const first = await h.backend.acquire([take(wide), take(narrow)], randomUUID(), LEASE_MS);
      expect(first.ok).toBe(true);
      expect(first.states.map((s) => s.remaining)).toEqual([4, 0]);
      const second = await h.backend.acquire([take(wide), take(narrow)], randomUUID(), LEASE_MS);
      expect(second.ok).toBe(false);
      if (second.ok) return;
      expect(second.denied.key).toBe(narrow.key);
      expect(second.retryAfterMs).toBeGreaterThanOrEqual(1);
      expect(second.states.map((s) => s.remaining)).toEqual([4, 0]);
      expect(await remaining(wide)).toBe(4);
    });

    it('names the first budget that was short and leaves a lease untaken when a bucket is', async () => {
      const conc = budget('concurrent-requests', 1);
      const empty = budget('tokens-per-minute', 10);
      const r = await h.backend.acquire([take(conc), take(empty, 11)], randomUUID(), LEASE_MS);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.denied.key).toBe(empty.key);
      expect((await h.backend.acquire([take(conc)], randomUUID(), LEASE_MS)).ok).toBe(true);
    });

    it('refills continuously over its window', async () => {
      const b = budget('tokens-per-minute', 10, 60_000);
      expect((await h.backend.acquire([take(b, 10)], randomUUID(), LEASE_MS)).ok).toBe(true);
      const denied = await h.backend.acquire([take(b, 1)], randomUUID(), LEASE_MS);
      expect(denied.ok).toBe(false);
      if (!denied.ok) {
        // One token comes back every 6 s; the Redis clock moves on by a few ms meanwhile.
        expect(denied.retryAfterMs).toBeLessThanOrEqual(6000);
        expect(denied.retryAfterMs).toBeGreaterThan(5000);
        expect(denied.states[0]?.resetMs).toBeGreaterThan(59_000);
      }
      h.advance(30_000);
      expect(await remaining(b)).toBe(5);
      h.advance(40_000);
      const [full] = await h.backend.peek([b]);
      expect(full).toMatchObject({ remaining: 10, resetMs: 0 });
    });

    it('refunds on release, never above capacity', async () => {
      const b = budget('tokens-per-day', 10, 86_400_000);
      const id = randomUUID();
      await h.backend.acquire([take(b, 6)], id, LEASE_MS);
      await h.backend.release([take(b, 2)], id);
      expect(await remaining(b)).toBe(6);
      await h.backend.release([take(b, 50)], id);
      expect(await remaining(b)).toBe(10);
      expect((await h.backend.acquire([take(b, 11)], randomUUID(), LEASE_MS)).ok).toBe(false);
    });

    it('ends a lease once however often it is released', async () => {
      const b = budget('concurrent-requests', 2);
      const [l1, l2, l3, l4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      expect((await h.backend.acquire([take(b)], l1, LEASE_MS)).ok).toBe(true);
      expect((await h.backend.acquire([take(b)], l2, LEASE_MS)).ok).toBe(true);
      // The same lease taken again holds one place, not two.
      expect((await h.backend.acquire([take(b)], l2, LEASE_MS)).ok).toBe(true);
      const full = await h.backend.acquire([take(b)], l3, LEASE_MS);
      expect(full.ok).toBe(false);
      if (!full.ok) {
        expect(full.retryAfterMs).toBeGreaterThanOrEqual(1);
        expect(full.retryAfterMs).toBeLessThanOrEqual(1000);
        expect(full.states[0]).toMatchObject({ remaining: 0 });
      }
      await h.backend.release([take(b)], l1);
      await h.backend.release([take(b)], l1);
      expect((await h.backend.acquire([take(b)], l3, LEASE_MS)).ok).toBe(true);
      expect((await h.backend.acquire([take(b)], l4, LEASE_MS)).ok).toBe(false);
      await h.backend.release([take(b)], l2);
      await h.backend.release([take(b)], l3);
      expect(await h.backend.peek([b])).toEqual([{ budget: b, remaining: 2, resetMs: 0 }]);
    });

    it('lets a lease expire after leaseMs', async () => {
      const b = budget('concurrent-requests', 1);
      expect((await h.backend.acquire([take(b)], randomUUID(), 5000)).ok).toBe(true);
      const held = await h.backend.acquire([take(b)], randomUUID(), 5000);
      expect(held.ok).toBe(false);
      h.advance(6000);
      expect((await h.backend.acquire([take(b)], randomUUID(), 5000)).ok).toBe(true);
    });

    it('charges nothing on peek', async () => {
      const b = budget('requests-per-minute', 3);
      const c = budget('concurrent-requests', 3);
      for (let i = 0; i < 5; i++) await h.backend.peek([b, c]);
      expect((await h.backend.peek([b, c])).map((s) => s.remaining)).toEqual([3, 3]);
      await h.backend.acquire([take(b), take(c)], randomUUID(), LEASE_MS);
      expect((await h.backend.peek([b, c])).map((s) => s.remaining)).toEqual([2, 2]);
    });

    it('never admits more than capacity to many callers at once', async () => {
      const b = budget('requests-per-minute', 50, 600_000);
      const results = await Promise.all(
        Array.from({ length: 200 }, () => h.backend.acquire([take(b)], randomUUID(), LEASE_MS)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      const c = budget('concurrent-requests', 10);
      const leases = await Promise.all(
        Array.from({ length: 100 }, () => h.backend.acquire([take(c)], randomUUID(), LEASE_MS)),
      );
      expect(leases.filter((r) => r.ok)).toHaveLength(10);
    });

    it('keeps keys bounded whatever the identity', async () => {
      const long = 'x'.repeat(10_000);
      const budgets = budgetsFor({
        sub: `${long}-${randomUUID()}`,
        clientId: long,
        model: `m-${'y'.repeat(120)}`,
        limits: { requestsPerMinute: 2, models: { 'm-*': { requestsPerMinute: 1 } } },
      });
      expect(budgets).toHaveLength(4);
      for (const b of budgets) expect(b.key.length).toBeLessThanOrEqual(64);
      const charges = budgets.map((b) => take(b));
      expect((await h.backend.acquire(charges, randomUUID(), LEASE_MS)).ok).toBe(true);
      expect((await h.backend.peek(budgets)).map((s) => s.remaining)).toEqual([1, 1, 0, 0]);
    });

    it('answers healthy', async () => {
      expect(await h.backend.healthy()).toBe(true);
    });
  });
}
