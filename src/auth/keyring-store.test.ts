/**
 * @module auth/keyring-store.test — the key ring's attack and race cases over SQLite: each test
 * a fresh data dir whose database file several connections (processes, in effect) share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDriver } from '../store/backends/sqlite.js';
import { openStore, type Store } from '../store/index.js';
import { keyRingStoreCases, type KeyRingTarget } from './keyring-store.case.js';

async function fresh(): Promise<KeyRingTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-keyring-'));
  const stores: Store[] = [];
  const connect = async () => {
    const s = await openStore({ dataDir });
    stores.push(s);
    return s;
  };
  await connect(); // creates the database and its tables
  const { Database } = await loadDriver();
  const raw = new Database(join(dataDir, 'gatehouse.db'));
  return {
    dataDir,
    connect,
    rawDocument: () => {
      const row = raw.prepare('SELECT document FROM signing_keys WHERE id = 1').get() as
        { document: string } | undefined;
      return Promise.resolve(row?.document);
    },
    tamper: (document) => {
      raw
        .prepare('UPDATE signing_keys SET document = ?, revision = revision + 1 WHERE id = 1')
        .run(document);
      return Promise.resolve();
    },
    close: async () => {
      raw.close();
      await Promise.all(stores.map((s) => s.close()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

keyRingStoreCases('sqlite', fresh);
