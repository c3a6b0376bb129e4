/** @module audit/writer.test — group commit, chaining, fail closed and checkpoints on SQLite. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditUnavailableError } from '../errors.js';
import { loadDriver, openSqliteStore } from '../store/backends/sqlite.js';
import type { Store } from '../store/index.js';
import { eventText, linkHash, ZERO_HASH } from './chain.js';
import { CHECKPOINT_TYP } from './checkpoint.js';
import { aSigningKey, anEvent, watched } from './fixtures.js';
import type { AuditLog } from './types.js';
import { createAuditLog } from './writer.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-audit-writer-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
let file: string;
let store: Store;
const logs: AuditLog[] = [];
beforeEach(async () => {
  file = join(root, `audit-${String(n++)}.db`);
  store = await openSqliteStore(file);
});
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
  await store.close();
});

async function open(over: Partial<Parameters<typeof createAuditLog>[0]> = {}) {
  const key = await aSigningKey();
  const w = watched(store.audit);
  let now = 1_764_600_000_000;
  const log = createAuditLog({
    store: w.store,
    chain: 'replica-a',
    sign: key.sign,
    issuer: 'http://gatehouse.test',
    clock: () => now,
    checkpointIntervalMs: 3_600_000,
    ...over,
  });
  logs.push(log);
  return { log, batches: w.batches, jwks: key.jwks, advance: (ms: number) => (now += ms) };
}

/** A raw connection to the test database, for faults the server cannot cause itself. */
async function raw(sql: string): Promise<void> {
  const { Database } = await loadDriver();
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

describe('audit writer', () => {
  it('chains events with the documented hash and stores their canonical text', async () => {
    const { log } = await open();
    const e1 = anEvent({ subject: 'alice' });
    const e2 = anEvent({ subject: 'bob', details: { note: 'ü' } });
    const p1 = await log.record(e1);
    const p2 = await log.record(e2);
    const h1 = linkHash(eventText(e1, 'replica-a', 1), ZERO_HASH);
    expect(p1).toEqual({ chain: 'replica-a', seq: 1, hash: h1 });
    expect(p2.seq).toBe(2);
    expect(p2.hash).toBe(linkHash(eventText(e2, 'replica-a', 2), h1));
    const rows = await store.audit.events('replica-a', 0, 10);
    expect(rows.map((r) => [r.seq, r.prevHash, r.hash, r.subject])).toEqual([
      [1, ZERO_HASH, h1, 'alice'],
      [2, h1, p2.hash, 'bob'],
    ]);
    expect(JSON.parse(rows[1]?.event ?? '')).toMatchObject({ chain: 'replica-a', seq: 2 });
  });

  it('writes the calls that arrive together in one transaction, then the next ones', async () => {
    const { log, batches } = await open();
    const first = Array.from({ length: 100 }, (_, i) => log.record(anEvent({ latencyMs: i })));
    await Promise.resolve();
    await Promise.resolve();
    // Arrive while the first batch is being committed: they form the second batch.
    const second = Array.from({ length: 50 }, () => log.record(anEvent()));
    const positions = await Promise.all([...first, ...second]);
    expect(batches).toEqual([100, 50]);
    expect(positions.map((p) => p.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  it('has each resolved event durable for a new connection', async () => {
    const { log } = await open();
    const p = await log.record(anEvent());
    const other = await openSqliteStore(file);
    try {
      expect(await other.audit.head('replica-a')).toEqual({ seq: p.seq, hash: p.hash });
    } finally {
      await other.close();
    }
  });

  it('keeps one linear chain when two processes write the same chain id', async () => {
    const other = await openSqliteStore(file);
    try {
      const { log: a } = await open();
      const key = await aSigningKey();
      const b = createAuditLog({
        store: other.audit,
        chain: 'replica-a',
        sign: key.sign,
        issuer: 'http://gatehouse.test',
      });
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) all.push(a.record(anEvent()), b.record(anEvent()));
      await Promise.all(all);
      await b.close();
      const rows = await store.audit.events('replica-a', 0, 1000);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      rows.forEach((r, i) => {
        expect(r.prevHash).toBe(i === 0 ? ZERO_HASH : rows[i - 1]?.hash);
        expect(linkHash(r.event, r.prevHash)).toBe(r.hash);
      });
    } finally {
      await other.close();
    }
  });

  it('fails closed while the store refuses writes, probes once a second, then resumes', async () => {
    const { log, batches, advance } = await open({ probeIntervalMs: 1000 });
    await log.record(anEvent());
    await raw(
      `CREATE TRIGGER broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk'); END`,
    );
    const waiting = [log.record(anEvent()), log.record(anEvent())];
    for (const p of waiting) await expect(p).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(log.healthy()).toBe(false);
    const tried = batches.length;
    // Before the next probe is due: refused without touching the store.
    await expect(log.record(anEvent())).rejects.toBeInstanceOf(AuditUnavailableError);
    advance(999);
    await expect(log.record(anEvent())).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(batches.length).toBe(tried);
    // The probe goes to the store (and fails again)…
    advance(1);
    await expect(log.record(anEvent())).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(batches.length).toBe(tried + 1);
    // …and once the store is back, service resumes by itself on the same chain.
    await raw('DROP TRIGGER broken');
    advance(1000);
    const p = await log.record(anEvent());
    expect(p.seq).toBe(2);
    expect(log.healthy()).toBe(true);
  });

  it('refuses at once beyond the pending bound', async () => {
    const { log } = await open({ maxPending: 5 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => log.record(anEvent())),
    );
    expect(results.map((r) => r.status)).toEqual([
      ...Array<string>(5).fill('fulfilled'),
      ...Array<string>(3).fill('rejected'),
    ]);
    const refused = results[7];
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(AuditUnavailableError);
  });

  it('refuses an event that cannot be encoded without failing its batch', async () => {
    const { log } = await open();
    const results = await Promise.allSettled([
      log.record(anEvent()),
      log.record(anEvent({ latencyMs: Number.NaN })),
      log.record(anEvent()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.audit.head('replica-a')).seq).toBe(2);
  });

  it('signs a checkpoint every N events and on close', async () => {
    const { log, jwks } = await open({ checkpointEvery: 10 });
    for (let i = 0; i < 25; i++) await log.record(anEvent());
    await log.close();
    const cps = await store.audit.checkpoints('replica-a', 0, 100);
    expect(cps.map((c) => c.seq)).toEqual([10, 20, 25]);
    const rows = await store.audit.events('replica-a', 0, 100);
    const last = cps[2];
    if (last === undefined) throw new Error('no checkpoint');
    expect(decodeProtectedHeader(last.jws).typ).toBe(CHECKPOINT_TYP);
    const { payload } = await compactVerify(last.jws, createLocalJWKSet(jwks));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      iss: 'http://gatehouse.test',
      chain: 'replica-a',
      seq: 25,
      hash: rows[24]?.hash,
      iat: 1_764_600_000,
    });
    await expect(log.record(anEvent())).rejects.toBeInstanceOf(AuditUnavailableError);
  });

  it('continues the chain after a restart and signs a head an earlier run left unsigned', async () => {
    const { log } = await open({ checkpointEvery: 1000 });
    for (let i = 0; i < 3; i++) await log.record(anEvent());
    // No close: as after kill -9.
    const { log: again } = await open();
    expect((await again.record(anEvent())).seq).toBe(4);
    await again.close();
    const cps = await store.audit.checkpoints('replica-a', 0, 10);
    expect(cps.map((c) => c.seq)).toEqual([4]);
  });
});

describe('audit writer metrics', () => {
  it('reports each commit and each failed write to its observer', async () => {
    const { log } = await open({ probeIntervalMs: 1000 });
    const written: number[] = [];
    let failed = 0;
    log.observe?.({
      written: (events, seconds) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        written.push(events);
      },
      failed: () => {
        failed++;
      },
    });
    await Promise.all([log.record(anEvent()), log.record(anEvent()), log.record(anEvent())]);
    await log.record(anEvent());
    expect(written).toEqual([3, 1]);
    await raw(
      `CREATE TRIGGER broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk'); END`,
    );
    await expect(log.record(anEvent())).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(failed).toBe(1);
    expect(written).toEqual([3, 1]);
  });

  it('shows as backlog the events not yet durable, the commit in flight included', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const base = watched(store.audit).store;
    const { log } = await open({
      store: {
        ...base,
        append: async (c, after, rows) => {
          await gate;
          return base.append(c, after, rows);
        },
      },
    });
    expect(log.backlog?.()).toEqual({ events: 0, oldestSeconds: 0 });
    const first = [log.record(anEvent()), log.record(anEvent())];
    await new Promise((resolve) => setImmediate(resolve)); // the first commit is in flight
    const third = log.record(anEvent()); // queued behind it
    const during = log.backlog?.();
    expect(during?.events).toBe(3);
    expect(during?.oldestSeconds).toBeGreaterThanOrEqual(0);
    release();
    await Promise.all([...first, third]);
    expect(log.backlog?.()).toEqual({ events: 0, oldestSeconds: 0 });
  });
});
