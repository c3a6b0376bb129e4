/**
 * @module auth/keyring-store.postgres.test — the key ring's attack and race cases over a real
 * PostgreSQL, each test in a fresh schema (dropped afterwards) that several pools share, as
 * replicas do. Skipped unless DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { openPostgresStore } from '../store/backends/postgres.js';
import type { Store } from '../store/index.js';
import { keyRingStoreCases, type KeyRingTarget } from './keyring-store.case.js';

const url = process.env.DATABASE_URL ?? '';
if (url === '') {
  console.warn(
    'auth/keyring-store.postgres: skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run',
  );
}

async function fresh(): Promise<KeyRingTarget> {
  const schema = `gatehouse_keys_${randomBytes(6).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-keyring-pg-'));
  const stores: Store[] = [];
  const connect = async () => {
    const s = await openPostgresStore(url, { schema });
    stores.push(s);
    return s;
  };
  await connect(); // creates the schema and its tables
  const { Client } = await import('pg');
  const admin = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await admin.connect();
  return {
    dataDir,
    connect,
    rawDocument: async () => {
      const { rows } = await admin.query<{ document: string }>(
        'SELECT document FROM signing_keys WHERE id = 1',
      );
      return rows[0]?.document;
    },
    tamper: async (document) => {
      await admin.query(
        'UPDATE signing_keys SET document = $1, revision = revision + 1 WHERE id = 1',
        [document],
      );
    },
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(url === '')('postgres', () => {
  keyRingStoreCases('postgres', fresh);
});
