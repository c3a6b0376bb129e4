/**
 * @module store/backends/sqlite-audit — the audit store on SQLite. Reads use the main connection
 * (WAL: they see every committed append); appends go through a worker thread with its own
 * `synchronous = FULL` connection (sqlite-audit-worker.ts), so each batch is fsync'd before its
 * promise resolves without blocking the event loop. An in-memory database has no file to share
 * with a thread: it appends on the main connection (nothing to fsync there anyway).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../../errors.js';
import {
  assertConsecutive,
  auditFromDb,
  auditQuerySql,
  auditToDb,
  checkpointFromDb,
  EMPTY_HEAD,
  int,
  type AuditDbRow,
  type CheckpointDbRow,
} from '../audit-rows.js';
import type { AuditStore } from '../types.js';
import { SqliteAuditWorker } from './sqlite-audit-worker.js';

/** The audit store over `db`; `worker` is null for an in-memory database. */
export function sqliteAudit(
  db: BetterSqlite3.Database,
  worker: SqliteAuditWorker | null,
): AuditStore & { close(): Promise<void> } {
  const q = {
    head: db.prepare('SELECT head_seq, head_hash FROM audit_chains WHERE chain = ?'),
    chains: db.prepare(
      `SELECT chain FROM audit_chains UNION SELECT chain FROM audit_events
       UNION SELECT chain FROM audit_checkpoints UNION SELECT chain FROM audit_purges ORDER BY 1`,
    ),
    events: db.prepare(
      'SELECT * FROM audit_events WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    checkpoints: db.prepare(
      'SELECT * FROM audit_checkpoints WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    lastCheckpoint: db.prepare(
      'SELECT * FROM audit_checkpoints WHERE chain = ? ORDER BY seq DESC LIMIT 1',
    ),
    addCheckpoint: db.prepare(
      `INSERT INTO audit_checkpoints (chain, seq, hash, jws, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain, seq) DO NOTHING`,
    ),
    firstNotOlder: db.prepare(
      'SELECT MIN(seq) AS seq FROM audit_events WHERE chain = ? AND time >= ?',
    ),
    addPurge: db.prepare(
      `INSERT INTO audit_purges (chain, seq, hash, jws, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain, seq) DO NOTHING`,
    ),
    purges: db.prepare('SELECT * FROM audit_purges WHERE chain = ? ORDER BY seq'),
    deleteEvents: db.prepare(
      `DELETE FROM audit_events WHERE chain = ? AND seq IN
       (SELECT seq FROM audit_events WHERE chain = ? AND seq <= ? ORDER BY seq LIMIT ?)`,
    ),
    deleteCheckpoints: db.prepare('DELETE FROM audit_checkpoints WHERE chain = ? AND seq <= ?'),
    insert: db.prepare(
      `INSERT INTO audit_events (chain, seq, time, subject, client_id, action, resource, decision, status, hash, prev_hash, event)
       VALUES (@chain, @seq, @time, @subject, @client_id, @action, @resource, @decision, @status, @hash, @prev_hash, @event)`,
    ),
    setHead: db.prepare(
      `INSERT INTO audit_chains (chain, head_seq, head_hash) VALUES (?, ?, ?)
       ON CONFLICT (chain) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash`,
    ),
  };

  const statements = new Map<string, BetterSqlite3.Statement>();

  const appendHere = db.transaction(
    (chain: string, afterSeq: number, rows: AuditDbRow[]): 'ok' | 'conflict' => {
      const head = q.head.get(chain) as { head_seq: unknown } | undefined;
      if ((head === undefined ? 0 : int(head.head_seq)) !== afterSeq) return 'conflict';
      for (const r of rows) q.insert.run(r);
      const last = rows.at(-1);
      if (last !== undefined) q.setHead.run(chain, last.seq, last.hash);
      return 'ok';
    },
  );

  return {
    head: (chain) =>
      attempt('audit.head', () => {
        const row = q.head.get(chain) as { head_seq: unknown; head_hash: unknown } | undefined;
        if (row === undefined) return EMPTY_HEAD;
        return { seq: int(row.head_seq), hash: String(row.head_hash) };
      }),
    append: async (chain, afterSeq, rows) => {
      assertConsecutive(chain, afterSeq, rows);
      if (worker !== null) return worker.append(chain, afterSeq, rows);
      const dbRows = rows.map(auditToDb);
      return attempt('audit.append', () => appendHere.immediate(chain, afterSeq, dbRows));
    },
    addCheckpoint: (c) =>
      attempt('audit.addCheckpoint', () => {
        q.addCheckpoint.run(c.chain, c.seq, c.hash, c.jws, c.createdAt);
      }),
    chains: () =>
      attempt('audit.chains', () =>
        (q.chains.all() as { chain: unknown }[]).map((r) => String(r.chain)),
      ),
    events: (chain, afterSeq, limit) =>
      attempt('audit.events', () =>
        (q.events.all(chain, afterSeq, limit) as AuditDbRow[]).map(auditFromDb),
      ),
    checkpoints: (chain, afterSeq, limit) =>
      attempt('audit.checkpoints', () =>
        (q.checkpoints.all(chain, afterSeq, limit) as CheckpointDbRow[]).map(checkpointFromDb),
      ),
    lastCheckpoint: (chain) =>
      attempt('audit.lastCheckpoint', () => {
        const row = q.lastCheckpoint.get(chain) as CheckpointDbRow | undefined;
        return row && checkpointFromDb(row);
      }),
    purgePoint: (chain, before) =>
      attempt('audit.purgePoint', () => {
        const first = q.firstNotOlder.get(chain, before) as { seq: unknown };
        const head = q.head.get(chain) as { head_seq: unknown; head_hash: unknown } | undefined;
        if (head === undefined) return undefined;
        const cut = first.seq === null ? int(head.head_seq) : int(first.seq) - 1;
        if (cut < 1) return undefined;
        const row = (q.events.all(chain, cut - 1, 1) as AuditDbRow[]).map(auditFromDb)[0];
        return row?.seq === cut ? { seq: cut, hash: row.hash } : undefined;
      }),
    addPurge: (r) =>
      attempt('audit.addPurge', () => {
        q.addPurge.run(r.chain, r.seq, r.hash, r.jws, r.createdAt);
      }),
    purges: (chain) =>
      attempt('audit.purges', () =>
        (q.purges.all(chain) as CheckpointDbRow[]).map(checkpointFromDb),
      ),
    deleteThrough: (chain, throughSeq, limit) =>
      attempt('audit.deleteThrough', () =>
        db.transaction(() => {
          q.deleteCheckpoints.run(chain, throughSeq);
          return q.deleteEvents.run(chain, chain, throughSeq, limit).changes;
        })(),
      ),
    query: (query, after, limit) =>
      attempt('audit.query', () => {
        const { sql, params } = auditQuerySql(query, after, limit, () => '?', '');
        let stmt = statements.get(sql);
        if (stmt === undefined) {
          // One statement per filter combination: at most 2^9 distinct texts.
          stmt = db.prepare(sql);
          statements.set(sql, stmt);
        }
        return (stmt.all(...params) as AuditDbRow[]).map(auditFromDb);
      }),
    close: () => (worker === null ? Promise.resolve() : worker.close()),
  };
}

function attempt<T>(op: string, run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (cause) {
    return Promise.reject(new StoreError(`SQLite store: ${op} failed`, { cause }));
  }
}
