/** @module audit/verify.test — tampering of each kind caught on SQLite files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDriver, openSqliteStore } from '../store/backends/sqlite.js';
import { aSigningKey, anEvent } from './fixtures.js';
import { verifyTamperCases } from './verify.case.js';
import { verifyAudit } from './verify.js';
import { createAuditLog } from './writer.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-audit-verify-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

async function fresh() {
  const file = join(root, `v-${String(n++)}.db`);
  const store = await openSqliteStore(file);
  const { Database } = await loadDriver();
  const db = new Database(file);
  return {
    store,
    exec: (sql: string) => {
      db.exec(sql);
      return Promise.resolve();
    },
    close: async () => {
      db.close();
      await store.close();
    },
  };
}

verifyTamperCases('sqlite', fresh);

describe('audit verify on sqlite only', () => {
  it('names a row whose seq is not a number (SQLite keeps any type) instead of crashing', async () => {
    const t = await fresh();
    try {
      const key = await aSigningKey();
      const log = createAuditLog({ store: t.store.audit, chain: 'c', sign: key.sign, issuer: 'i' });
      for (let i = 0; i < 5; i++) await log.record(anEvent());
      await log.close();
      await t.exec(`UPDATE audit_events SET seq = 'x' WHERE chain = 'c' AND seq = 5`);
      const report = await verifyAudit(t.store.audit, key.jwks);
      expect(report.ok).toBe(false);
      if (!report.ok) expect(report.problem).toMatchObject({ chain: 'c', seq: 5, kind: 'corrupt' });
    } finally {
      await t.close();
    }
  });
});
