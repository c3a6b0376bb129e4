/**
 * @module store/store.case — the conformance suite every Store backend must pass, run by each
 * backend's test file. Tests share one database, so each makes its own ids and reads
 * revocations from the cursor it found on arrival.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import type { ClientRecord, RefreshRecord, Revocation, RevocationStore, Store } from './types.js';

/** A fixed "now" (epoch seconds); the suite never reads the real clock. */
const T = 1_700_000_000;

const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;

const aClient = (over: Partial<ClientRecord> = {}): ClientRecord => ({
  id: uid('client'),
  name: 'Test client',
  secretHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
  jwks: null,
  authMethods: ['client_secret_basic', 'client_secret_post'],
  roles: ['user'],
  scopes: ['models:read', 'inference'],
  allowRefresh: true,
  limits: null,
  createdAt: T,
  revokedAt: null,
  ...over,
});

const aToken = (over: Partial<RefreshRecord> = {}): RefreshRecord => ({
  hash: uid('hash'),
  familyId: uid('family'),
  clientId: 'client-1',
  subject: 'alice',
  scope: 'inference models:read',
  roles: ['user', 'auditor'],
  jkt: null,
  accessJti: uid('jti'),
  accessExp: T + 600,
  createdAt: T,
  expiresAt: T + 3600,
  ...over,
});

const byJti = (a: Revocation, b: Revocation): number => (a.jti < b.jti ? -1 : 1);

/** Reads to the end of the revocation log and returns its cursor. */
async function head(revocations: RevocationStore): Promise<number> {
  let cursor = 0;
  for (;;) {
    const page = await revocations.since(cursor);
    if (page.items.length === 0) return page.cursor;
    cursor = page.cursor;
  }
}

/**
 * Registers the conformance tests for one backend. `open` must return a new connection to one
 * and the same database each time it is called (the race tests use two at once).
 */
export function storeConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    /** Runs `n` calls split across two connections, all started before any is awaited. */
    async function race<T>(n: number, call: (s: Store, i: number) => Promise<T>): Promise<T[]> {
      const other = await open();
      try {
        return await Promise.all(
          Array.from({ length: n }, (_, i) => call(i % 2 === 0 ? store : other, i)),
        );
      } finally {
        await other.close();
      }
    }

    describe('clients', () => {
      it('returns an inserted client exactly as given', async () => {
        const secret = aClient({ allowRefresh: false });
        const keyed = aClient({
          secretHash: null,
          jwks: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'k1' }],
          authMethods: ['private_key_jwt'],
          roles: [],
          scopes: [],
        });
        await store.clients.insert(secret);
        await store.clients.insert(keyed);
        expect(await store.clients.get(secret.id)).toEqual(secret);
        expect(await store.clients.get(keyed.id)).toEqual(keyed);
        expect(await store.clients.get(uid('missing'))).toBeUndefined();
      });

      it('rejects a duplicate id with a StoreError that quotes no SQL', async () => {
        const c = aClient();
        await store.clients.insert(c);
        const err: unknown = await store.clients
          .insert(aClient({ id: c.id }))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreError);
        const storeErr = err as StoreError;
        expect(storeErr.code).toBe('STORE_FAILURE');
        expect(storeErr.expose).toBe(false);
        expect(storeErr.message).not.toMatch(/insert into|unique|duplicate|constraint/i);
        expect(storeErr.cause).toBeDefined();
        expect(await store.clients.get(c.id)).toEqual(c);
      });

      it('lists clients by creation time, then id in byte order', async () => {
        const p = uid('list');
        const later = aClient({ id: `${p}-a`, createdAt: T + 2 });
        const lower = aClient({ id: `${p}-b`, createdAt: T + 1 });
        const upper = aClient({ id: `${p}-B`, createdAt: T + 1 });
        for (const c of [later, lower, upper]) await store.clients.insert(c);
        const mine = (await store.clients.list()).filter((c) => c.id.startsWith(p));
        expect(mine).toEqual([upper, lower, later]);
      });

      it('revokes a client once', async () => {
        const c = aClient();
        await store.clients.insert(c);
        expect(await store.clients.revoke(c.id, T + 5)).toBe(true);
        expect(await store.clients.revoke(c.id, T + 9)).toBe(false);
        expect(await store.clients.get(c.id)).toEqual({ ...c, revokedAt: T + 5 });
        expect(await store.clients.revoke(uid('missing'), T)).toBe(false);
      });

      it('keeps, replaces and clears a client’s limits', async () => {
        const limits = { requestsPerMinute: 60, models: { 'chat-*': { tokensPerDay: 1000 } } };
        const c = aClient({ limits });
        await store.clients.insert(c);
        expect(await store.clients.get(c.id)).toEqual(c);
        expect(await store.clients.setLimits(c.id, { concurrentRequests: 2, models: {} })).toBe(
          true,
        );
        expect((await store.clients.get(c.id))?.limits).toEqual({
          concurrentRequests: 2,
          models: {},
        });
        expect(await store.clients.setLimits(c.id, null)).toBe(true);
        expect(await store.clients.get(c.id)).toEqual({ ...c, limits: null });
        expect(await store.clients.setLimits(uid('missing'), null)).toBe(false);
      });
    });

    describe('refresh tokens', () => {
      it('finds a token by hash without consuming it', async () => {
        const r = aToken({ jkt: 'thumbprint-1' });
        await store.refresh.insert(r);
        expect(await store.refresh.find(r.hash)).toEqual(r);
        expect(await store.refresh.find(uid('missing'))).toBeUndefined();
        expect(await store.refresh.consume(r.hash, T + 1)).toEqual({ status: 'ok', record: r });
      });

      it('consumes a token once; every later attempt is reported as reuse', async () => {
        const r = aToken();
        await store.refresh.insert(r);
        expect(await store.refresh.consume(r.hash, T + 1)).toEqual({ status: 'ok', record: r });
        expect(await store.refresh.consume(r.hash, T + 2)).toEqual({ status: 'reused', record: r });
        expect(await store.refresh.consume(r.hash, T + 3)).toEqual({ status: 'reused', record: r });
      });

      it('treats expired and unknown tokens as invalid', async () => {
        const r = aToken({ expiresAt: T + 100 });
        await store.refresh.insert(r);
        expect(await store.refresh.consume(r.hash, T + 100)).toEqual({ status: 'invalid' });
        expect(await store.refresh.consume(uid('missing'), T)).toEqual({ status: 'invalid' });
        // A failed attempt does not mark the token used.
        expect(await store.refresh.consume(r.hash, T + 99)).toEqual({ status: 'ok', record: r });
      });

      it('gives exactly one of 20 concurrent consumers the token', async () => {
        const r = aToken();
        await store.refresh.insert(r);
        const results = await race(20, (s) => s.refresh.consume(r.hash, T + 1));
        const statuses = results.map((x) => x.status);
        expect(statuses.filter((s) => s === 'ok')).toHaveLength(1);
        expect(statuses.filter((s) => s === 'reused')).toHaveLength(19);
      });

      it('revokes a family: its tokens become invalid, its live access tokens revoked', async () => {
        const familyId = uid('family');
        const used = aToken({ familyId, accessExp: T + 100 });
        const current = aToken({ familyId, createdAt: T + 1, accessExp: T + 700 });
        const stale = aToken({ familyId, accessExp: T + 10 });
        const bystander = aToken();
        for (const r of [used, current, stale, bystander]) await store.refresh.insert(r);
        expect((await store.refresh.consume(used.hash, T + 1)).status).toBe('ok');
        const cursor = await head(store.revocations);

        expect(await store.refresh.familyRevoked(familyId)).toBe(false);
        const expected = [
          { jti: used.accessJti, exp: T + 100 },
          { jti: current.accessJti, exp: T + 700 },
        ].sort(byJti);
        expect((await store.refresh.revokeFamily(familyId, T + 10)).sort(byJti)).toEqual(expected);
        expect(await store.refresh.familyRevoked(familyId)).toBe(true);
        expect(await store.refresh.familyRevoked(bystander.familyId)).toBe(false);

        expect(await store.refresh.consume(current.hash, T + 11)).toEqual({ status: 'invalid' });
        expect(await store.refresh.consume(used.hash, T + 11)).toEqual({ status: 'invalid' });
        expect(await store.refresh.find(current.hash)).toEqual(current);
        const page = await store.revocations.since(cursor);
        expect([...page.items].sort(byJti)).toEqual(expected);
        expect(page.cursor).toBeGreaterThan(cursor);
        expect(await store.refresh.consume(bystander.hash, T + 11)).toEqual({
          status: 'ok',
          record: bystander,
        });

        // Revoking again changes nothing and logs nothing new.
        expect((await store.refresh.revokeFamily(familyId, T + 20)).sort(byJti)).toEqual(expected);
        expect(await store.revocations.since(page.cursor)).toEqual({
          items: [],
          cursor: page.cursor,
        });
        expect(await store.refresh.revokeFamily(uid('missing'), T)).toEqual([]);
      });
    });

    describe('revocations', () => {
      it('logs each jti once, in order, behind a cursor', async () => {
        const start = await head(store.revocations);
        const [a, b, c] = [uid('jti'), uid('jti'), uid('jti')];
        await store.revocations.add({ jti: a, exp: T + 10 });
        await store.revocations.add({ jti: b, exp: T + 20 });
        await store.revocations.add({ jti: a, exp: T + 99 });
        await store.revocations.add({ jti: c, exp: T + 30 });
        const page = await store.revocations.since(start);
        expect(page.items).toEqual([
          { jti: a, exp: T + 10 },
          { jti: b, exp: T + 20 },
          { jti: c, exp: T + 30 },
        ]);
        expect(page.cursor).toBeGreaterThan(start);
        expect(await store.revocations.since(page.cursor)).toEqual({
          items: [],
          cursor: page.cursor,
        });
      });

      it('pages through more than 10,000 revocations', async () => {
        const start = await head(store.revocations);
        const p = uid('page');
        for (let i = 0; i <= 10_000; i++)
          await store.revocations.add({ jti: `${p}-${i}`, exp: T + i });
        const first = await store.revocations.since(start);
        expect(first.items).toHaveLength(10_000);
        expect(first.items[0]).toEqual({ jti: `${p}-0`, exp: T });
        expect(first.items[9_999]).toEqual({ jti: `${p}-9999`, exp: T + 9_999 });
        const second = await store.revocations.since(first.cursor);
        expect(second.items).toEqual([{ jti: `${p}-10000`, exp: T + 10_000 }]);
        expect(await store.revocations.since(second.cursor)).toEqual({
          items: [],
          cursor: second.cursor,
        });
        // 10,001 round trips one after the other: ~10 s on PostgreSQL on a quiet 2-core machine,
        // more under load; a timeout here would leave the loop writing into the next test.
      }, 120_000);

      it('purges revocations whose token has expired', async () => {
        const start = await head(store.revocations);
        const [gone, kept] = [uid('jti'), uid('jti')];
        await store.revocations.add({ jti: gone, exp: T + 10 });
        await store.revocations.add({ jti: kept, exp: T + 11 });
        await store.revocations.purge(T + 10);
        expect((await store.revocations.since(start)).items).toEqual([{ jti: kept, exp: T + 11 }]);
      });
    });

    describe('replay', () => {
      it('claims a key once until it expires', async () => {
        const key = uid('assertion');
        expect(await store.replay.claim(key, T + 60, T)).toBe(true);
        expect(await store.replay.claim(key, T + 60, T + 59)).toBe(false);
        expect(await store.replay.claim(uid('assertion'), T + 60, T + 59)).toBe(true);
        expect(await store.replay.claim(key, T + 120, T + 60)).toBe(true);
        expect(await store.replay.claim(key, T + 120, T + 61)).toBe(false);
      });

      it('gives exactly one of 20 concurrent claims the key', async () => {
        const key = uid('assertion');
        const results = await race(20, (s) => s.replay.claim(key, T + 60, T));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
