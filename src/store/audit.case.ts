/**
 * @module store/audit.case — the audit-store conformance suite every backend must pass, run by
 * each backend's test file. Each test writes chains of its own (random ids) in one database.
 * The store does not compute hashes (the writer does), so rows here carry arbitrary ones.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import type { AuditRow, Store } from './types.js';

const ZERO = '0'.repeat(64);
const hex = (n: number): string => n.toString(16).padStart(64, '0');

/** `count` consecutive rows of `chain` after `afterSeq`. */
export function someRows(chain: string, afterSeq: number, count: number): AuditRow[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = afterSeq + 1 + i;
    return {
      chain,
      seq,
      time: 1_700_000_000_000 + seq,
      subject: `user-${String(seq)}`,
      clientId: 'client-1',
      action: 'inference:invoke',
      resource: 'model:echo',
      decision: 'allow',
      status: 200,
      hash: hex(seq),
      prevHash: seq === 1 ? ZERO : hex(seq - 1),
      event: JSON.stringify({ chain, seq }),
    };
  });
}

/**
 * Registers the audit-store tests for one backend. `open` must return a new connection to one
 * and the same database each time it is called.
 */
export function auditStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`${name} audit store`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });
    const newChain = () => `replica-${randomUUID()}`;

    it('starts a chain at seq 0 with the zero hash', async () => {
      expect(await store.audit.head(newChain())).toEqual({ seq: 0, hash: ZERO });
    });

    it('appends a batch in one call and pages it back by seq', async () => {
      const chain = newChain();
      const rows = someRows(chain, 0, 300);
      expect(await store.audit.append(chain, 0, rows)).toBe('ok');
      expect(await store.audit.head(chain)).toEqual({ seq: 300, hash: hex(300) });
      const first = await store.audit.events(chain, 0, 100);
      const next = await store.audit.events(chain, 100, 1000);
      expect(first.map((r) => r.seq)).toEqual(rows.slice(0, 100).map((r) => r.seq));
      expect([...first, ...next]).toEqual(rows);
      expect(await store.audit.events(chain, 300, 10)).toEqual([]);
      expect(await store.audit.chains()).toContain(chain);
    });

    it('keeps nulls and the exact event text', async () => {
      const chain = newChain();
      const [row] = someRows(chain, 0, 1);
      if (row === undefined) throw new Error('no row');
      const odd = {
        ...row,
        subject: null,
        clientId: null,
        resource: null,
        status: null,
        event: '{"reason":"é \\u2028 ✓","n":1e21}',
      };
      await store.audit.append(chain, 0, [odd]);
      expect(await store.audit.events(chain, 0, 10)).toEqual([odd]);
    });

    it('refuses an append whose head moved on, writing nothing', async () => {
      const chain = newChain();
      expect(await store.audit.append(chain, 0, someRows(chain, 0, 2))).toBe('ok');
      expect(await store.audit.append(chain, 0, someRows(chain, 0, 2))).toBe('conflict');
      expect(await store.audit.append(chain, 1, someRows(chain, 1, 3))).toBe('conflict');
      expect(await store.audit.append(chain, 5, someRows(chain, 5, 1))).toBe('conflict');
      expect(await store.audit.head(chain)).toEqual({ seq: 2, hash: hex(2) });
      expect(await store.audit.events(chain, 0, 10)).toHaveLength(2);
      expect(await store.audit.append(chain, 2, someRows(chain, 2, 1))).toBe('ok');
    });

    it('lets exactly one of two racing writers on one chain win', async () => {
      const other = await open();
      try {
        for (let round = 0; round < 5; round++) {
          const chain = newChain();
          const results = await Promise.all([
            store.audit.append(chain, 0, someRows(chain, 0, 50)),
            other.audit.append(chain, 0, someRows(chain, 0, 40)),
          ]);
          expect(results.filter((r) => r === 'ok')).toHaveLength(1);
          const stored = await store.audit.events(chain, 0, 100);
          expect(stored).toHaveLength(results[0] === 'ok' ? 50 : 40);
        }
      } finally {
        await other.close();
      }
    });

    it('rejects rows that do not continue the chain', async () => {
      const chain = newChain();
      await expect(store.audit.append(chain, 0, someRows(chain, 1, 2))).rejects.toThrow(StoreError);
      await expect(store.audit.append(chain, 0, [])).rejects.toThrow(StoreError);
      await expect(store.audit.append(chain, 0, someRows('elsewhere', 0, 1))).rejects.toThrow(
        StoreError,
      );
      expect(await store.audit.head(chain)).toEqual({ seq: 0, hash: ZERO });
    });

    it('keeps chains apart', async () => {
      const a = newChain();
      const b = newChain();
      await store.audit.append(a, 0, someRows(a, 0, 3));
      await store.audit.append(b, 0, someRows(b, 0, 1));
      expect((await store.audit.head(a)).seq).toBe(3);
      expect((await store.audit.head(b)).seq).toBe(1);
      expect((await store.audit.events(b, 0, 10)).map((r) => r.chain)).toEqual([b]);
      const chains = await store.audit.chains();
      expect(chains).toEqual(expect.arrayContaining([a, b]));
      expect([...chains].sort()).toEqual(chains);
    });

    it('stores checkpoints once per seq and pages them', async () => {
      const chain = newChain();
      expect(await store.audit.lastCheckpoint(chain)).toBeUndefined();
      const cp = (seq: number, jws: string) => ({
        chain,
        seq,
        hash: hex(seq),
        jws,
        createdAt: 1_700_000_000_000,
      });
      await store.audit.addCheckpoint(cp(10, 'a.b.c'));
      await store.audit.addCheckpoint(cp(10, 'other.jws.ignored'));
      await store.audit.addCheckpoint(cp(20, 'd.e.f'));
      expect(await store.audit.checkpoints(chain, 0, 10)).toEqual([
        cp(10, 'a.b.c'),
        cp(20, 'd.e.f'),
      ]);
      expect(await store.audit.checkpoints(chain, 10, 10)).toEqual([cp(20, 'd.e.f')]);
      expect(await store.audit.lastCheckpoint(chain)).toEqual(cp(20, 'd.e.f'));
      expect(await store.audit.chains()).toContain(chain);
    });

    it('queries by filters in (time, chain, seq) order with a keyset cursor', async () => {
      // A time window no other test writes into.
      const base = 2_000_000_000_000 + Math.floor(Math.random() * 1e9) * 1000;
      const a = newChain();
      const b = newChain();
      const mk = (chain: string, rows: AuditRow[]) =>
        rows.map((r, i) => ({
          ...r,
          chain,
          time: base + (i % 3) * 1000,
          subject: i % 2 === 0 ? 'alice' : 'bob',
          resource:
            i === 0 ? 'model:chat_1@' + 'ab'.repeat(32) : i === 1 ? 'model:chat_1' : 'model:chatx1',
          decision: i === 2 ? 'deny' : 'allow',
          status: i === 2 ? 403 : 200,
        }));
      const ra = mk(a, someRows(a, 0, 6));
      const rb = mk(b, someRows(b, 0, 6));
      await store.audit.append(a, 0, ra);
      await store.audit.append(b, 0, rb);
      const window = { from: base, to: base + 3000 };
      const all = await store.audit.query(window, undefined, 100);
      const [first, second] = [a, b].sort();
      const key = (r: AuditRow) => [r.time, r.chain, r.seq];
      const expected = [...ra, ...rb].sort(
        (x, y) =>
          x.time - y.time || (x.chain < y.chain ? -1 : x.chain > y.chain ? 1 : x.seq - y.seq),
      );
      expect(all.map(key)).toEqual(expected.map(key));
      expect(all[0]?.chain).toBe(first);
      expect(second).toBeDefined();
      // Paging by cursor visits each row once, in order.
      const paged: AuditRow[] = [];
      let after: { time: number; chain: string; seq: number } | undefined;
      for (;;) {
        const page = await store.audit.query(window, after, 5);
        if (page.length === 0) break;
        paged.push(...page);
        const last = page.at(-1);
        if (last === undefined) break;
        after = { time: last.time, chain: last.chain, seq: last.seq };
      }
      expect(paged.map(key)).toEqual(expected.map(key));
      const q = (extra: object) => store.audit.query({ ...window, ...extra }, undefined, 100);
      expect((await q({ subject: 'bob' })).every((r) => r.subject === 'bob')).toBe(true);
      expect(await q({ subject: 'bob' })).toHaveLength(6);
      expect((await q({ decision: 'deny', status: 403 })).map((r) => r.seq)).toEqual([3, 3]);
      // model: exact id or id@digest, and `_` is not a wildcard.
      expect((await q({ model: 'chat_1' })).map((r) => r.seq).sort()).toEqual([1, 1, 2, 2]);
      expect(await q({ model: 'chat' })).toEqual([]);
      expect(await q({ from: base + 1000, to: base + 2000, clientId: 'client-1' })).toHaveLength(4);
      expect(await q({ action: 'other' })).toEqual([]);
      expect(await q({ subject: "x' OR '1'='1" })).toEqual([]);
    });

    it('finds the purge point, keeps purge records and deletes in bounded rounds', async () => {
      const chain = newChain();
      // someRows times are base + seq: events 1..6 are older than base + 7.
      const rows = someRows(chain, 0, 10);
      const base = 1_700_000_000_000;
      await store.audit.append(chain, 0, rows);
      expect(await store.audit.purgePoint(chain, base + 7)).toEqual({ seq: 6, hash: hex(6) });
      expect(await store.audit.purgePoint(chain, base + 1)).toBeUndefined();
      expect(await store.audit.purgePoint(chain, base + 100)).toEqual({ seq: 10, hash: hex(10) });
      expect(await store.audit.purgePoint(newChain(), base + 100)).toBeUndefined();
      const rec = { chain, seq: 6, hash: hex(6), jws: 'p.q.r', createdAt: base };
      await store.audit.addPurge(rec);
      await store.audit.addPurge({ ...rec, jws: 'ignored' });
      expect(await store.audit.purges(chain)).toEqual([rec]);
      await store.audit.addCheckpoint({ ...rec, seq: 5, jws: 'c' });
      await store.audit.addCheckpoint({ ...rec, seq: 8, jws: 'c' });
      expect(await store.audit.deleteThrough(chain, 6, 4)).toBe(4);
      expect(await store.audit.deleteThrough(chain, 6, 4)).toBe(2);
      expect(await store.audit.deleteThrough(chain, 6, 4)).toBe(0);
      expect((await store.audit.events(chain, 0, 100)).map((r) => r.seq)).toEqual([7, 8, 9, 10]);
      expect((await store.audit.checkpoints(chain, 0, 10)).map((c) => c.seq)).toEqual([8]);
      expect(await store.audit.head(chain)).toEqual({ seq: 10, hash: hex(10) });
    });

    it('keeps what an append resolved after the connection closes', async () => {
      const chain = newChain();
      const writer = await open();
      expect(await writer.audit.append(chain, 0, someRows(chain, 0, 7))).toBe('ok');
      await writer.close();
      const reader = await open();
      try {
        expect(await reader.audit.head(chain)).toEqual({ seq: 7, hash: hex(7) });
        expect(await reader.audit.events(chain, 0, 10)).toEqual(someRows(chain, 0, 7));
      } finally {
        await reader.close();
      }
    });
  });
}
