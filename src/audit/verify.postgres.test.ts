/**
 * @module audit/verify.postgres.test — tampering of each kind caught on PostgreSQL, each test in
 * a fresh schema dropped afterwards; and two replicas writing their own chains into one store.
 * Skipped unless DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../store/backends/postgres.js';
import { aSigningKey, anEvent } from './fixtures.js';
import { verifyTamperCases, type TamperTarget } from './verify.case.js';
import { verifyAudit } from './verify.js';
import { createAuditLog } from './writer.js';

const url = process.env.DATABASE_URL ?? '';

async function fresh(): Promise<TamperTarget & { schema: string }> {
  const schema = `gatehouse_audit_${randomBytes(6).toString('hex')}`;
  const store = await openPostgresStore(url, { schema });
  const { Client } = await import('pg');
  const admin = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await admin.connect();
  return {
    schema,
    store,
    exec: async (sql) => {
      await admin.query(sql);
    },
    close: async () => {
      await store.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

describe.skipIf(url === '')('postgres', () => {
  verifyTamperCases('postgres', fresh);

  it('keeps one chain per replica over one store, and verify checks all of them', async () => {
    const t = await fresh();
    // Two replicas: two stores (connection pools) over one schema, each with its own chain.
    const other = await openPostgresStore(url, { schema: t.schema });
    try {
      const key = await aSigningKey();
      const [a, b] = [t.store, other].map((s, i) =>
        createAuditLog({
          store: s.audit,
          chain: `replica-${'ab'[i] ?? ''}`,
          sign: key.sign,
          issuer: 'i',
          checkpointEvery: 7,
        }),
      );
      if (a === undefined || b === undefined) throw new Error('two logs');
      for (let i = 0; i < 15; i++) await Promise.all([a.record(anEvent()), b.record(anEvent())]);
      await a.close();
      await b.close();
      const report = await verifyAudit(t.store.audit, key.jwks, { pageSize: 8 });
      expect(report).toEqual({
        ok: true,
        chains: [
          {
            chain: 'replica-a',
            events: 15,
            headSeq: 15,
            checkpoints: 3,
            lastCheckpointSeq: 15,
            purgedThrough: 0,
          },
          {
            chain: 'replica-b',
            events: 15,
            headSeq: 15,
            checkpoints: 3,
            lastCheckpointSeq: 15,
            purgedThrough: 0,
          },
        ],
      });
    } finally {
      await other.close();
      await t.close();
    }
  });
});
