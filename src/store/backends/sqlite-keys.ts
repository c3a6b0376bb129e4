/**
 * @module store/backends/sqlite-keys — the key-ring row in SQLite. Each write is one statement
 * (an INSERT that does nothing on conflict, or an UPDATE conditional on the revision), so the
 * compare-and-swap holds across processes sharing the file as well as within one.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { KeyRingRow, KeyRingStore } from '../keys-types.js';
import { attempt } from './sqlite-tx.js';

interface Row {
  revision: number;
  document: string;
  updated_at: number;
}

/** The key-ring store over `db`. */
export function sqliteKeys(db: BetterSqlite3.Database): KeyRingStore {
  const q = {
    get: db.prepare('SELECT revision, document, updated_at FROM signing_keys WHERE id = 1'),
    revision: db.prepare('SELECT revision FROM signing_keys WHERE id = 1'),
    create: db.prepare(
      `INSERT INTO signing_keys (id, revision, document, updated_at) VALUES (1, 1, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    swap: db.prepare(
      `UPDATE signing_keys SET revision = revision + 1, document = ?, updated_at = ?
       WHERE id = 1 AND revision = ?`,
    ),
  };
  return {
    get: () =>
      attempt('keys.get', (): KeyRingRow | undefined => {
        const row = q.get.get() as Row | undefined;
        return row && { revision: row.revision, document: row.document, updatedAt: row.updated_at };
      }),
    revision: () =>
      attempt('keys.revision', () => (q.revision.get() as Row | undefined)?.revision ?? 0),
    put: (expected, document, now) =>
      attempt(
        'keys.put',
        () =>
          (expected === 0 ? q.create.run(document, now) : q.swap.run(document, now, expected))
            .changes === 1,
      ),
  };
}
