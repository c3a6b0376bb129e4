/**
 * @module audit/retention.test — purging old events keeps every chain verifiable through a
 * signed purge record, records the purge as an audit event first (nothing is purged when it
 * cannot be recorded), resumes an interrupted purge, and a forged or removed purge record is
 * caught by verify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditUnavailableError } from '../errors.js';
import { loadDriver, openSqliteStore } from '../store/backends/sqlite.js';
import type { Store } from '../store/index.js';
import { aSigningKey, anEvent } from './fixtures.js';
import { purgeExpired } from './retention.js';
import { verifyAudit } from './verify.js';
import { createAuditLog } from './writer.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-audit-retention-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');
let n = 0;
let file: string;
let store: Store;
beforeEach(async () => {
  file = join(root, `r-${String(n++)}.db`);
  store = await openSqliteStore(file);
});
afterEach(async () => {
  await store.close();
});

async function raw(sql: string): Promise<void> {
  const { Database } = await loadDriver();
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** 20 events one day apart ending yesterday on chain `old`, and a server log on `srv`. */
async function setup() {
  const key = await aSigningKey();
  const writer = createAuditLog({
    store: store.audit,
    chain: 'old',
    sign: key.sign,
    issuer: 'i',
    checkpointEvery: 5,
  });
  for (let i = 0; i < 20; i++) await writer.record(anEvent({ time: NOW - (20 - i) * DAY }));
  await writer.close();
  const log = createAuditLog({
    store: store.audit,
    chain: 'srv',
    sign: key.sign,
    issuer: 'i',
    clock: () => NOW,
    checkpointIntervalMs: 3_600_000,
  });
  const purge = (retentionDays: number, batch?: number) =>
    purgeExpired({
      store: store.audit,
      log,
      sign: key.sign,
      issuer: 'i',
      clock: () => NOW,
      retentionDays,
      ...(batch === undefined ? {} : { batch }),
    });
  return { key, log, purge };
}

const problemOf = (r: Awaited<ReturnType<typeof verifyAudit>>) => (r.ok ? undefined : r.problem);

describe('audit retention', () => {
  it('purges events older than the retention and the chain still verifies', async () => {
    const { key, log, purge } = await setup();
    // Events 1..13 are older than 7 days (NOW - 20d … NOW - 8d); 14 is exactly 7 days old.
    expect(await purge(7, 4)).toEqual([{ chain: 'old', throughSeq: 13, deleted: 13 }]);
    const left = await store.audit.events('old', 0, 100);
    expect(left.map((r) => r.seq)).toEqual(Array.from({ length: 7 }, (_, i) => i + 14));
    await log.close();
    const report = await verifyAudit(store.audit, key.jwks, { maxUnsigned: 6 });
    expect(report.ok).toBe(true);
    expect(report.chains.find((c) => c.chain === 'old')).toMatchObject({
      purgedThrough: 13,
      events: 7,
      headSeq: 20,
    });
    // The purge is itself an audit event.
    const [event] = await store.audit.events('srv', 0, 10);
    expect(JSON.parse(event?.event ?? '{}')).toMatchObject({
      action: 'audit.purge',
      resource: 'chain:old',
      details: { throughSeq: 13, before: '2026-05-25T00:00:00.000Z' },
    });
    // Nothing more to purge: no second event.
    expect(await purge(7)).toEqual([]);
    expect(await store.audit.events('srv', 0, 10)).toHaveLength(1);
  });

  it('purges nothing when the purge cannot be recorded', async () => {
    const { key, log, purge } = await setup();
    await raw(
      `CREATE TRIGGER broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'x'); END`,
    );
    await expect(purge(7)).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(await store.audit.events('old', 0, 100)).toHaveLength(20);
    expect(await store.audit.purges('old')).toEqual([]);
    await raw('DROP TRIGGER broken');
    await log.close();
    expect((await verifyAudit(store.audit, key.jwks)).ok).toBe(true);
  });

  it('reports purged events as deleted when the purge record is removed', async () => {
    const { key, log, purge } = await setup();
    await purge(7, 4);
    // As if the process died after the record: put rows back below the cut.
    await raw(`DELETE FROM audit_purges`);
    expect(problemOf(await verifyAudit(store.audit, key.jwks))).toMatchObject({
      chain: 'old',
      seq: 1,
      kind: 'deleted',
    });
    await log.close();
  });

  it('finishes a purge that an earlier run recorded but did not complete', async () => {
    const { key, log, purge } = await setup();
    // As if the process died right after storing the purge record.
    const [row] = await store.audit.events('old', 4, 1);
    const claims = { iss: 'i', chain: 'old', seq: 5, hash: row?.hash ?? '', iat: 1 };
    const jws = await key.sign(claims, 'gatehouse-purge+jwt');
    await store.audit.addPurge({ chain: 'old', seq: 5, hash: claims.hash, jws, createdAt: NOW });
    expect(await purge(30, 2)).toEqual([{ chain: 'old', throughSeq: 5, deleted: 5 }]);
    await log.close();
    const report = await verifyAudit(store.audit, key.jwks);
    expect(report.ok).toBe(true);
    expect(report.chains.find((c) => c.chain === 'old')).toMatchObject({
      purgedThrough: 5,
      events: 15,
    });
  });

  it('catches a purge record that was forged or altered', async () => {
    const { key, purge, log } = await setup();
    await purge(7);
    await log.close();
    await raw(`UPDATE audit_purges SET jws = jws || 'x'`);
    expect(problemOf(await verifyAudit(store.audit, key.jwks))).toMatchObject({
      chain: 'old',
      seq: 13,
      kind: 'bad-checkpoint',
    });
    // A purge record signed by another key, moved further to hide more deletions.
    const other = await aSigningKey();
    const forged = await other.sign(
      { iss: 'i', chain: 'old', seq: 15, hash: 'ab'.repeat(32), iat: 1 },
      'gatehouse-purge+jwt',
    );
    await raw(`INSERT INTO audit_purges VALUES ('old', 15, '${'ab'.repeat(32)}', '${forged}', 0)`);
    await raw(`DELETE FROM audit_events WHERE chain = 'old' AND seq <= 15`);
    await raw(`UPDATE audit_purges SET jws = substr(jws, 1, length(jws) - 1) WHERE seq = 13`);
    expect(problemOf(await verifyAudit(store.audit, key.jwks))).toMatchObject({
      chain: 'old',
      seq: 15,
      kind: 'bad-checkpoint',
    });
  });
});
