/**
 * @module store/backends/postgres.test — the store conformance suite against a real PostgreSQL,
 * in fresh schemas dropped afterwards. Skipped unless DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../errors.js';
import { migrations } from '../migrations.js';
import { auditStoreConformance } from '../audit.case.js';
import { keysConformance } from '../keys.case.js';
import { registryConformance } from '../registry.case.js';
import { storeConformance } from '../store.case.js';
import { openPostgresStore } from './postgres.js';

const url = process.env.DATABASE_URL ?? '';
const freshSchema = (): string => `gatehouse_test_${randomBytes(6).toString('hex')}`;

if (url === '') {
  console.warn(
    'store/postgres: suite skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run',
  );
}

/** Runs `sql` on a connection of its own, outside any store. */
async function admin<R>(sql: string): Promise<R[]> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

describe.skipIf(url === '')('postgres backend', () => {
  const schemas = [freshSchema(), freshSchema(), freshSchema(), freshSchema()] as const;
  afterAll(async () => {
    for (const s of schemas) await admin(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  });

  storeConformance('postgres', () => openPostgresStore(url, { schema: schemas[0] }));
  auditStoreConformance('postgres', () => openPostgresStore(url, { schema: schemas[0] }));
  registryConformance('postgres', () => openPostgresStore(url, { schema: schemas[0] }));
  keysConformance('postgres', (db) =>
    openPostgresStore(url, { schema: db === 'a' ? schemas[2] : schemas[3] }),
  );

  it('lets several replicas migrate a new schema at once', async () => {
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore(url, { schema: schemas[1] })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const rows = await admin<{ id: number }>(
      `SELECT id FROM ${schemas[1]}.gatehouse_migrations ORDER BY id`,
    );
    expect(rows.map((r) => r.id)).toEqual(migrations.map((m) => m.id));
  });

  it('fails to open with a StoreError that does not quote the URL', async () => {
    const bad = 'postgres://gatehouse:hunter2-secret@127.0.0.1:1/nowhere';
    const err: unknown = await openPostgresStore(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).not.toMatch(/hunter2|127\.0\.0\.1|gatehouse:/);
    expect((err as StoreError).expose).toBe(false);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openPostgresStore(url, { schema: 'x; DROP TABLE clients' })).rejects.toThrow(
      StoreError,
    );
  });
});
