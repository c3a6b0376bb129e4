/** @module store/backends/sqlite.test — the store conformance suite against SQLite files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { auditStoreConformance } from '../audit.case.js';
import { keysConformance } from '../keys.case.js';
import { registryConformance } from '../registry.case.js';
import { storeConformance } from '../store.case.js';
import { openSqliteStore } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

storeConformance('sqlite', () => openSqliteStore(join(dir, 'gatehouse.db')));
auditStoreConformance('sqlite', () => openSqliteStore(join(dir, 'gatehouse.db')));
registryConformance('sqlite', () => openSqliteStore(join(dir, 'gatehouse.db')));
keysConformance('sqlite', (db) => openSqliteStore(join(dir, `keys-${db}.db`)));
