/**
 * @module store/backends/postgres — the shared backend for several replicas, through a `pg` pool.
 * Every race between replicas is settled inside PostgreSQL: a conditional UPDATE for refresh
 * rotation, ON CONFLICT for replay and revocations, advisory locks for migrations and for the
 * order of the revocation sequence.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { StoreError } from '../../errors.js';
import { migrations } from '../migrations.js';
import {
  clientFromRow,
  clientToRow,
  refreshFromRow,
  refreshToRow,
  type ClientRow,
  type RefreshRow,
} from '../rows.js';
import type { ConsumeResult, Revocation, Store } from '../types.js';
import { postgresAudit } from './postgres-audit.js';
import { postgresKeys } from './postgres-keys.js';
import { postgresRegistry } from './postgres-registry.js';
import { op, withTransaction as transaction } from './postgres-tx.js';

/** Options for {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Schema that holds the tables, created if missing and put first on every connection's
   * `search_path`. A lower-case SQL identifier. Default: whatever the server's search_path says.
   */
  schema?: string;
  /** Told when an idle pooled connection fails (the pool drops it and carries on). */
  onError?: (error: StoreError) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Longest wait for a new connection before the operation fails as "store unavailable". */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * Longest wait for a statement's answer. Together with the connect timeout it stays below the
 * default request deadline (server.requestTimeoutMs, 30 s), so no request outlives it waiting.
 */
const QUERY_TIMEOUT_MS = 10_000;
/** Idle time of a connection before the kernel starts probing that its peer is still there. */
const KEEPALIVE_DELAY_MS = 10_000;

/*
 * A BIGSERIAL hands out numbers at INSERT time, not in commit order, so a reader polling
 * `seq > cursor` could step past a number whose transaction commits later and miss that
 * revocation for good. Taking this lock before the INSERT and holding it to COMMIT makes
 * numbering order and commit order the same. Keyed by the table's oid, so schemas don't contend.
 */
const REVOCATION_LOCK = `pg_advisory_xact_lock(hashtext('gatehouse.revocations'), 'revocations'::regclass::oid::int)`;

/*
 * Inserting a token into a family and revoking the family take the same per-family lock. Without
 * it, a revocation whose UPDATE began before a concurrent insert committed would not see the new
 * token (READ COMMITTED snapshots per statement), and a rotated token could outlive its family.
 */
const FAMILY_LOCK = `SELECT pg_advisory_xact_lock(hashtext('gatehouse.family'), hashtext($1))`;

/**
 * Connects to PostgreSQL at `url` (postgres://…), applies pending migrations and returns the
 * store. Rejects with a StoreError (the driver's error in `cause`) if the database is unreachable.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const { schema, onError } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreError('PostgreSQL store: schema must be a lower-case SQL identifier');
  }
  const { Pool } = await import('pg');
  const poolConfig = {
    connectionString: url,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    // A database that does not answer fails the request (503) instead of holding it forever.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A peer that vanished without closing (a dead host, a cut link) is noticed by the kernel.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
  };
  // A statement sent into a partition (no reset, no answer) would wait for TCP's retransmission
  // timeout, many minutes; this bounds it (the connection is then discarded by the pool).
  const pool = new Pool({ ...poolConfig, query_timeout: QUERY_TIMEOUT_MS });
  // Audit appends get connections of their own (postgres-audit.ts).
  const auditPool = new Pool({ ...poolConfig, query_timeout: QUERY_TIMEOUT_MS, max: 2 });
  // Without a listener, an idle connection dropped by the server would crash the process; the
  // pool listens only while a client is idle, so each client gets one of its own as well (an
  // error between two statements of a transaction then fails that transaction, not the process).
  for (const p of [pool, auditPool]) {
    p.on('error', (cause) => {
      onError?.(new StoreError('PostgreSQL store: idle connection failed', { cause }));
    });
    p.on('connect', (client) => {
      // Idle: the pool's listener above reports it. Checked out: the statement in flight (or
      // the next one) fails with it and is reported by its caller; nothing to add here.
      client.on('error', () => undefined);
    });
  }
  // Migrations may rewrite big tables: one connection of their own, without the statement bound.
  const migrator = new Pool({ ...poolConfig, max: 1 });
  migrator.on('error', () => undefined);
  try {
    await migrate(migrator, schema);
  } catch (cause) {
    await Promise.all([pool.end(), auditPool.end()]).catch(() => undefined);
    if (cause instanceof StoreError) throw cause;
    throw new StoreError('PostgreSQL store: could not open the database', { cause });
  } finally {
    await migrator.end().catch(() => undefined);
  }
  return build(pool, auditPool);
}

/** The PostgreSQL store, and the cheap round trip its readiness probe makes. */
export type PostgresStore = Store & { ping(): Promise<void> };

function build(pool: Pool, auditPool: Pool): PostgresStore {
  const query = <R extends QueryResultRow>(text: string, values: unknown[] = []) =>
    pool.query<R>(text, values);
  let closing: Promise<void> | undefined;

  return {
    kind: 'postgres',
    clients: {
      insert: (c) =>
        op('clients.insert', async () => {
          await query(...insertSql('clients', clientToRow(c)));
        }),
      get: (id) =>
        op('clients.get', async () => {
          const { rows } = await query<ClientRow>('SELECT * FROM clients WHERE id = $1', [id]);
          return rows[0] && clientFromRow(rows[0]);
        }),
      list: () =>
        op('clients.list', async () => {
          // "C" collation: byte order, the same as SQLite's, whatever the database's locale.
          const sql = 'SELECT * FROM clients ORDER BY created_at, id COLLATE "C"';
          return (await query<ClientRow>(sql)).rows.map(clientFromRow);
        }),
      revoke: (id, now) =>
        op('clients.revoke', async () => {
          const sql = 'UPDATE clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL';
          return (await query(sql, [id, now])).rowCount === 1;
        }),
      setLimits: (id, limits) =>
        op('clients.setLimits', async () => {
          const json = limits === null ? null : JSON.stringify(limits);
          return (
            (await query('UPDATE clients SET limits = $2 WHERE id = $1', [id, json])).rowCount === 1
          );
        }),
    },
    refresh: {
      insert: (r) =>
        op('refresh.insert', () =>
          transaction(pool, async (c) => {
            await c.query(FAMILY_LOCK, [r.familyId]);
            await c.query(...insertSql('refresh_tokens', refreshToRow(r)));
          }),
        ),
      consume: (hash, now) => op('refresh.consume', () => consume(pool, hash, now)),
      revokeFamily: (familyId, now) =>
        op('refresh.revokeFamily', () => transaction(pool, (c) => revokeFamily(c, familyId, now))),
      find: (hash) =>
        op('refresh.find', async () => {
          const sql = 'SELECT * FROM refresh_tokens WHERE hash = $1';
          const { rows } = await query<RefreshRow>(sql, [hash]);
          return rows[0] && refreshFromRow(rows[0]);
        }),
      familyRevoked: (familyId) =>
        op('refresh.familyRevoked', async () => {
          const sql =
            'SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL LIMIT 1';
          const { rows } = await query<{ '?column?': number }>(sql, [familyId]);
          return rows.length > 0;
        }),
    },
    revocations: {
      add: (r) =>
        op('revocations.add', async () => {
          // One statement, so the lock is held exactly until its implicit COMMIT.
          await query(
            `WITH l AS (SELECT ${REVOCATION_LOCK})
             INSERT INTO revocations (jti, exp) SELECT $1::text, $2::bigint FROM l
             ON CONFLICT (jti) DO NOTHING`,
            [r.jti, r.exp],
          );
        }),
      since: (cursor) =>
        op('revocations.since', async () => {
          const { rows } = await query<{ seq: string; jti: string; exp: string }>(
            'SELECT seq, jti, exp FROM revocations WHERE seq > $1 ORDER BY seq LIMIT 10000',
            [cursor],
          );
          const last = rows.at(-1);
          return {
            items: rows.map(({ jti, exp }) => ({ jti, exp: Number(exp) })),
            cursor: last ? Number(last.seq) : cursor,
          };
        }),
      purge: (now) =>
        op('revocations.purge', async () => {
          await query(
            `WITH r AS (DELETE FROM revocations WHERE exp <= $1)
             DELETE FROM replay WHERE exp <= $1`,
            [now],
          );
        }),
    },
    replay: {
      claim: (key, exp, now) =>
        op('replay.claim', async () => {
          await query('DELETE FROM replay WHERE exp <= $1', [now]);
          const sql = 'INSERT INTO replay (key, exp) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING';
          return (await query(sql, [key, exp])).rowCount === 1;
        }),
    },
    audit: postgresAudit(pool, auditPool),
    registry: postgresRegistry(pool),
    keys: postgresKeys(pool),
    // Through both pools: the audit pool's connections are the ones a fail-closed write needs.
    ping: () =>
      op('ping', async () => {
        await Promise.all([pool.query('SELECT 1'), auditPool.query('SELECT 1')]);
      }),
    close: () =>
      (closing ??= op('close', async () => {
        await Promise.all([pool.end(), auditPool.end()]);
      })),
  };
}

async function consume(pool: Pool, hash: string, now: number): Promise<ConsumeResult> {
  // The row lock makes concurrent callers queue here; each re-checks `used_at` after the
  // winner commits, so exactly one UPDATE matches.
  const won = await pool.query<RefreshRow>(
    `UPDATE refresh_tokens SET used_at = $2
     WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
     RETURNING *`,
    [hash, now],
  );
  if (won.rows[0]) return { status: 'ok', record: refreshFromRow(won.rows[0]) };
  const found = await pool.query<RefreshRow>('SELECT * FROM refresh_tokens WHERE hash = $1', [
    hash,
  ]);
  const row = found.rows[0];
  if (row !== undefined && row.used_at !== null && row.revoked_at === null) {
    return { status: 'reused', record: refreshFromRow(row) };
  }
  return { status: 'invalid' };
}

async function revokeFamily(c: PoolClient, familyId: string, now: number): Promise<Revocation[]> {
  await c.query(FAMILY_LOCK, [familyId]);
  await c.query(
    'UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId, now],
  );
  const { rows } = await c.query<{ jti: string; exp: string }>(
    `SELECT access_jti AS jti, access_exp AS exp FROM refresh_tokens
     WHERE family_id = $1 AND access_exp > $2 ORDER BY created_at, access_jti COLLATE "C"`,
    [familyId, now],
  );
  const access = rows.map(({ jti, exp }) => ({ jti, exp: Number(exp) }));
  if (access.length > 0) {
    await c.query(`SELECT ${REVOCATION_LOCK}`);
    await c.query(
      `INSERT INTO revocations (jti, exp) SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (jti) DO NOTHING`,
      [access.map((a) => a.jti), access.map((a) => a.exp)],
    );
  }
  return access;
}

async function migrate(pool: Pool, schema: string | undefined): Promise<void> {
  await transaction(pool, async (c) => {
    // Replicas starting together queue here; the lock goes with the transaction.
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('gatehouse.migrate'), hashtext($1))`, [
      schema ?? '',
    ]);
    if (schema !== undefined) {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const { rows } = await c.query<{ s: string | null }>('SELECT current_schema() AS s');
      if (rows[0]?.s !== schema) {
        // An `options` parameter in the URL replaces ours; refuse rather than use another schema.
        throw new StoreError('PostgreSQL store: could not select the schema (URL sets options?)');
      }
    }
    await c.query(
      `CREATE TABLE IF NOT EXISTS gatehouse_migrations (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const applied = await c.query<{ id: number }>('SELECT id FROM gatehouse_migrations');
    const done = new Set(applied.rows.map((r) => r.id));
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      for (const stmt of m.sql) await c.query(stmt.replaceAll('%SERIAL%', 'BIGSERIAL PRIMARY KEY'));
      await c.query('INSERT INTO gatehouse_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [
        m.id,
        m.name,
        Math.floor(Date.now() / 1000),
      ]);
    }
  });
}

/** An INSERT of every column of `row` (columns named by our own mappers, never by input). */
function insertSql(table: string, row: object): [string, unknown[]] {
  const columns = Object.keys(row);
  const params = columns.map((_, i) => `$${i + 1}`).join(', ');
  return [`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${params})`, Object.values(row)];
}
