/**
 * @module store/backends/postgres-audit — the audit store on PostgreSQL. Appends run on a pool
 * of their own (so a batch never waits behind other queries for a connection), one statement
 * (its own transaction, one round trip) per batch: the chain's head row is moved only if it is
 * still where the batch was chained onto, and the rows — one `unnest` insert — land only if it
 * was, committed with `synchronous_commit = on` whatever the server's default. Replicas writing
 * one chain queue on that row lock and can never fork it.
 */
import type { Pool, PoolClient } from 'pg';
import { StoreError } from '../../errors.js';
import {
  assertConsecutive,
  AUDIT_COLUMNS,
  auditQuerySql,
  auditFromDb,
  checkpointFromDb,
  EMPTY_HEAD,
  int,
  ZERO_HASH,
  type AuditDbRow,
  type CheckpointDbRow,
} from '../audit-rows.js';
import type { AuditRow, AuditStore } from '../types.js';

const COLUMN_TYPES = [
  'text',
  'bigint',
  'bigint',
  'text',
  'text',
  'text',
  'text',
  'text',
  'integer',
  'text',
  'text',
  'text',
] as const;

/*
 * Compare-and-append in ONE statement (one round trip, its own transaction): the UPDATE moves
 * the head only if it is still at $2 — it locks the head row, and a concurrent writer's move
 * makes READ COMMITTED re-check `head_seq = $2` on the new version and match nothing — and the
 * rows are inserted only if it did. Either all rows land with the head or nothing changes.
 */
const APPEND = `WITH moved AS (
    UPDATE audit_chains SET head_seq = $3, head_hash = $4 WHERE chain = $1 AND head_seq = $2
    RETURNING 1
  )
  INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  SELECT * FROM unnest(${COLUMN_TYPES.map((t, i) => `$${i + 5}::${t}[]`).join(', ')})
  WHERE EXISTS (SELECT 1 FROM moved)`;

const ADD_CHAIN = `INSERT INTO audit_chains (chain, head_seq, head_hash) VALUES ($1, 0, $2)
  ON CONFLICT (chain) DO NOTHING`;

function columnsOf(rows: readonly AuditRow[]): unknown[][] {
  return [
    rows.map((r) => r.chain),
    rows.map((r) => r.seq),
    rows.map((r) => r.time),
    rows.map((r) => r.subject),
    rows.map((r) => r.clientId),
    rows.map((r) => r.action),
    rows.map((r) => r.resource),
    rows.map((r) => r.decision),
    rows.map((r) => r.status),
    rows.map((r) => r.hash),
    rows.map((r) => r.prevHash),
    rows.map((r) => r.event),
  ];
}

/** Writer connections already set to commit synchronously (whatever the server's default). */
const synchronous = new WeakSet<PoolClient>();

async function appendTx(
  c: PoolClient,
  chain: string,
  afterSeq: number,
  rows: readonly AuditRow[],
): Promise<'ok' | 'conflict'> {
  if (!synchronous.has(c)) {
    await c.query('SET synchronous_commit = on');
    synchronous.add(c);
  }
  if (afterSeq === 0) await c.query(ADD_CHAIN, [chain, ZERO_HASH]);
  const last = rows[rows.length - 1];
  const result = await c.query({
    name: 'gatehouse-audit-append',
    text: APPEND,
    values: [chain, afterSeq, last?.seq, last?.hash, ...columnsOf(rows)],
  });
  return result.rowCount === rows.length ? 'ok' : 'conflict';
}

/**
 * A page of events by seq. Asked as `seq > $2 ORDER BY seq LIMIT n`, PostgreSQL without fresh
 * statistics (a chain just written) bitmap-scans and sorts the whole rest of the chain for every
 * page, which makes a full scan quadratic. Windows of explicit seq bounds read only their rows;
 * `min(seq)` (an index probe whatever the statistics) jumps over gaps, so even a row moved to a
 * huge seq costs one probe.
 */
async function events(pool: Pool, chain: string, afterSeq: number, limit: number) {
  const out: AuditRow[] = [];
  let after = afterSeq;
  while (out.length < limit) {
    const { rows: next } = await pool.query<{ seq: string | null }>(
      'SELECT min(seq) AS seq FROM audit_events WHERE chain = $1 AND seq > $2',
      [chain, after],
    );
    const from = next[0]?.seq;
    if (from == null) break;
    const { rows } = await pool.query<AuditDbRow>(
      `SELECT * FROM audit_events WHERE chain = $1 AND seq >= $2 AND seq < $2::bigint + $3
       ORDER BY seq LIMIT $3`,
      [chain, from, limit - out.length],
    );
    for (const r of rows) out.push(auditFromDb(r));
    const last = rows.at(-1);
    if (last === undefined) break;
    after = int(last.seq);
  }
  return out;
}

/** The audit store: reads on `pool`, appends on `writers`. */
export function postgresAudit(pool: Pool, writers: Pool): AuditStore {
  return {
    head: (chain) =>
      op('audit.head', async () => {
        const { rows } = await pool.query<{ head_seq: string; head_hash: string }>(
          'SELECT head_seq, head_hash FROM audit_chains WHERE chain = $1',
          [chain],
        );
        const row = rows[0];
        return row === undefined ? EMPTY_HEAD : { seq: int(row.head_seq), hash: row.head_hash };
      }),
    append: async (chain, afterSeq, rows) => {
      assertConsecutive(chain, afterSeq, rows);
      return op('audit.append', async () => {
        const c = await writers.connect();
        let broken: Error | undefined;
        try {
          return await appendTx(c, chain, afterSeq, rows);
        } catch (err) {
          // After a failed COMMIT the connection's state is unknown: do not reuse it.
          broken = err instanceof Error ? err : new Error('audit append failed');
          throw err;
        } finally {
          c.release(broken);
        }
      });
    },
    addCheckpoint: (cp) =>
      op('audit.addCheckpoint', async () => {
        await pool.query(
          `INSERT INTO audit_checkpoints (chain, seq, hash, jws, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, seq) DO NOTHING`,
          [cp.chain, cp.seq, cp.hash, cp.jws, cp.createdAt],
        );
      }),
    chains: () =>
      op('audit.chains', async () => {
        const { rows } = await pool.query<{ chain: string }>(
          `SELECT chain FROM (SELECT chain FROM audit_chains UNION SELECT chain FROM audit_events
           UNION SELECT chain FROM audit_checkpoints UNION SELECT chain FROM audit_purges) c
           ORDER BY chain COLLATE "C"`,
        );
        return rows.map((r) => r.chain);
      }),
    events: (chain, afterSeq, limit) =>
      op('audit.events', () => events(pool, chain, afterSeq, limit)),
    checkpoints: (chain, afterSeq, limit) =>
      op('audit.checkpoints', async () => {
        const { rows } = await pool.query<CheckpointDbRow & Record<string, unknown>>(
          'SELECT * FROM audit_checkpoints WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3',
          [chain, afterSeq, limit],
        );
        return rows.map(checkpointFromDb);
      }),
    purgePoint: (chain, before) =>
      op('audit.purgePoint', async () => {
        const { rows } = await pool.query<{ seq: string; hash: string }>(
          `SELECT e.seq, e.hash FROM audit_events e, audit_chains h
           WHERE h.chain = $1 AND e.chain = $1 AND e.seq = COALESCE(
             (SELECT MIN(seq) FROM audit_events WHERE chain = $1 AND time >= $2) - 1, h.head_seq)`,
          [chain, before],
        );
        const row = rows[0];
        return row === undefined ? undefined : { seq: int(row.seq), hash: row.hash };
      }),
    addPurge: (r) =>
      op('audit.addPurge', async () => {
        await pool.query(
          `INSERT INTO audit_purges (chain, seq, hash, jws, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, seq) DO NOTHING`,
          [r.chain, r.seq, r.hash, r.jws, r.createdAt],
        );
      }),
    purges: (chain) =>
      op('audit.purges', async () => {
        const { rows } = await pool.query<CheckpointDbRow & Record<string, unknown>>(
          'SELECT * FROM audit_purges WHERE chain = $1 ORDER BY seq',
          [chain],
        );
        return rows.map(checkpointFromDb);
      }),
    deleteThrough: (chain, throughSeq, limit) =>
      op('audit.deleteThrough', async () => {
        await pool.query('DELETE FROM audit_checkpoints WHERE chain = $1 AND seq <= $2', [
          chain,
          throughSeq,
        ]);
        const { rowCount } = await pool.query(
          `DELETE FROM audit_events WHERE chain = $1 AND seq IN
           (SELECT seq FROM audit_events WHERE chain = $1 AND seq <= $2 ORDER BY seq LIMIT $3)`,
          [chain, throughSeq, limit],
        );
        return rowCount ?? 0;
      }),
    query: (query, after, limit) =>
      op('audit.query', async () => {
        const { sql, params } = auditQuerySql(
          query,
          after,
          limit,
          (i) => `$${String(i)}`,
          ' COLLATE "C"',
        );
        const { rows } = await pool.query<AuditDbRow>(sql, params);
        return rows.map(auditFromDb);
      }),
    lastCheckpoint: (chain) =>
      op('audit.lastCheckpoint', async () => {
        const { rows } = await pool.query<CheckpointDbRow & Record<string, unknown>>(
          'SELECT * FROM audit_checkpoints WHERE chain = $1 ORDER BY seq DESC LIMIT 1',
          [chain],
        );
        return rows[0] && checkpointFromDb(rows[0]);
      }),
  };
}

async function op<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new StoreError(`PostgreSQL store: ${name} failed`, { cause });
  }
}
