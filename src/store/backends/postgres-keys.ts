/**
 * @module store/backends/postgres-keys — the key-ring row in PostgreSQL. A racing UPDATE waits
 * for the winner's row lock and then re-checks `revision = expected` against the committed row,
 * so it matches nothing; a racing first INSERT waits likewise and then does nothing.
 */
import type { Pool } from 'pg';
import type { KeyRingStore } from '../keys-types.js';
import { op } from './postgres-tx.js';

/** The key-ring store over `pool`. */
export function postgresKeys(pool: Pool): KeyRingStore {
  return {
    get: () =>
      op('keys.get', async () => {
        const { rows } = await pool.query<{
          revision: string;
          document: string;
          updated_at: string;
        }>('SELECT revision, document, updated_at FROM signing_keys WHERE id = 1');
        const row = rows[0];
        return (
          row && {
            revision: Number(row.revision),
            document: row.document,
            updatedAt: Number(row.updated_at),
          }
        );
      }),
    revision: () =>
      op('keys.revision', async () => {
        const sql = 'SELECT revision FROM signing_keys WHERE id = 1';
        const { rows } = await pool.query<{ revision: string }>(sql);
        return rows[0] === undefined ? 0 : Number(rows[0].revision);
      }),
    put: (expected, document, now) =>
      op('keys.put', async () => {
        const result =
          expected === 0
            ? await pool.query(
                `INSERT INTO signing_keys (id, revision, document, updated_at) VALUES (1, 1, $1, $2)
                 ON CONFLICT (id) DO NOTHING`,
                [document, now],
              )
            : await pool.query(
                `UPDATE signing_keys SET revision = revision + 1, document = $1, updated_at = $2
                 WHERE id = 1 AND revision = $3`,
                [document, now, expected],
              );
        return result.rowCount === 1;
      }),
  };
}
