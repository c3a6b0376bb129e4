/**
 * @module store/keys.case — the conformance suite of the key-ring row, run by each backend's
 * test file. `open(db)` must return a new connection to database `db` each time it is called; the
 * two databases start without a key ring and no other suite writes theirs (it is a single row).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from './types.js';

/** A fixed "now" (epoch seconds); the suite never reads the real clock. */
const T = 1_700_000_000;

/** Registers the key-ring conformance tests for one backend. */
export function keysConformance(name: string, open: (db: 'a' | 'b') => Promise<Store>): void {
  describe(`Key-ring store conformance: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open('a');
    });
    afterAll(async () => {
      await store.close();
    });

    it('holds no ring at first, then exactly the document written, as revision 1', async () => {
      expect(await store.keys.get()).toBeUndefined();
      expect(await store.keys.revision()).toBe(0);
      expect(await store.keys.put(0, '{"version":1,"keys":[]}', T)).toBe(true);
      expect(await store.keys.get()).toEqual({
        revision: 1,
        document: '{"version":1,"keys":[]}',
        updatedAt: T,
      });
      expect(await store.keys.revision()).toBe(1);
    });

    it('replaces the document only from the current revision, one step at a time', async () => {
      const start = await store.keys.revision();
      expect(await store.keys.put(0, 'first again', T)).toBe(false);
      expect(await store.keys.put(start + 1, 'from the future', T)).toBe(false);
      expect(await store.keys.put(start, 'next', T + 1)).toBe(true);
      expect(await store.keys.put(start, 'stale', T + 2)).toBe(false);
      expect(await store.keys.get()).toEqual({
        revision: start + 1,
        document: 'next',
        updatedAt: T + 1,
      });
    });

    it('lets exactly one of many writers racing from one revision win, over two connections', async () => {
      const other = await open('a');
      try {
        for (let round = 0; round < 3; round++) {
          const from = await store.keys.revision();
          const won = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              (i % 2 === 0 ? store : other).keys.put(from, `writer ${String(i)}`, T),
            ),
          );
          expect(won.filter(Boolean)).toHaveLength(1);
          const row = await other.keys.get();
          expect(row?.revision).toBe(from + 1);
          expect(row?.document).toBe(`writer ${String(won.indexOf(true))}`);
        }
      } finally {
        await other.close();
      }
    });

    it('lets exactly one of racing first writers create the ring, over two connections', async () => {
      const [one, two] = await Promise.all([open('b'), open('b')]);
      try {
        const won = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? one : two).keys.put(0, `first ${String(i)}`, T),
          ),
        );
        expect(won.filter(Boolean)).toHaveLength(1);
        expect(await two.keys.get()).toEqual({
          revision: 1,
          document: `first ${String(won.indexOf(true))}`,
          updatedAt: T,
        });
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });
  });
}
