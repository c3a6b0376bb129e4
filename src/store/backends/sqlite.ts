/**
 * @module store/backends/sqlite — the embedded default: one SQLite file (WAL) in the data dir.
 * better-sqlite3 is synchronous, which makes every operation here atomic in-process; the
 * `consume` race is settled by a single conditional UPDATE either way.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';
import { StoreError } from '../../errors.js';
import { isMissingPackage } from '../../lib/missing-package.js';
import { migrations } from '../migrations.js';
import type { ConsumeResult, Revocation, Store } from '../types.js';
import {
  clientFromRow,
  clientToRow,
  refreshFromRow,
  refreshToRow,
  type ClientRow,
  type RefreshRow,
} from '../rows.js';
import { sqliteAudit } from './sqlite-audit.js';
import { sqliteKeys } from './sqlite-keys.js';
import { sqliteRegistry } from './sqlite-registry.js';
import { SqliteAuditWorker } from './sqlite-audit-worker.js';

/**
 * better-sqlite3 12 (node::ObjectWrap) aborts the process on Node 24 when V8 collects a
 * statement, and 13 (Node-API, prebuilt) needs Node 22+ and crashes on 20: load the one that
 * is safe on the running Node. Both have the same API. Exported for tests that need a raw connection.
 */
export async function loadDriver(): Promise<{ Database: typeof BetterSqlite3; path: string }> {
  const major = Number(process.versions.node.split('.')[0]);
  try {
    const mod = major >= 22 ? await import('better-sqlite3-napi') : await import('better-sqlite3');
    // The audit writer thread requires the same build by path (sqlite-audit-worker.ts).
    const path = createRequire(import.meta.url).resolve(
      major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3',
    );
    return { Database: mod.default, path };
  } catch (err) {
    // better-sqlite3-napi is an optional dependency that npm installs only when it runs on
    // Node 22+ (its engines field), so a tree installed by Node 20 lacks it.
    if (isMissingPackage(err, 'better-sqlite3-napi')) {
      throw new StoreError(
        `SQLite store: better-sqlite3-napi (better-sqlite3 13, used on Node 22+) is not installed: run npm ci with the Node that runs the server (${process.version})`,
        { cause: err },
      );
    }
    if (isMissingPackage(err, 'better-sqlite3')) {
      throw new StoreError(
        'SQLite store: better-sqlite3 is not installed: npm install better-sqlite3@12',
        { cause: err },
      );
    }
    throw err;
  }
}

/** Opens (creating if needed) the SQLite database at `file` and applies migrations. */
export async function openSqliteStore(file: string): Promise<Store> {
  const { Database, path: driver } = await loadDriver();
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (cause) {
    db?.close();
    throw new StoreError('SQLite store: could not open the database', { cause });
  }
  return build(db, file === ':memory:' ? null : new SqliteAuditWorker(driver, file));
}

function build(db: BetterSqlite3.Database, auditWorker: SqliteAuditWorker | null): Store {
  const audit = sqliteAudit(db, auditWorker);
  const q = {
    clientInsert: db.prepare(
      `INSERT INTO clients (id, name, secret_hash, jwks, auth_methods, roles, scopes, allow_refresh, limits, created_at, revoked_at)
       VALUES (@id, @name, @secret_hash, @jwks, @auth_methods, @roles, @scopes, @allow_refresh, @limits, @created_at, @revoked_at)`,
    ),
    clientGet: db.prepare('SELECT * FROM clients WHERE id = ?'),
    clientList: db.prepare('SELECT * FROM clients ORDER BY created_at, id'),
    clientRevoke: db.prepare(
      'UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    clientLimits: db.prepare('UPDATE clients SET limits = ? WHERE id = ?'),
    refreshInsert: db.prepare(
      `INSERT INTO refresh_tokens (hash, family_id, client_id, subject, scope, roles, jkt, access_jti, access_exp, created_at, expires_at)
       VALUES (@hash, @family_id, @client_id, @subject, @scope, @roles, @jkt, @access_jti, @access_exp, @created_at, @expires_at)`,
    ),
    refreshUse: db.prepare(
      `UPDATE refresh_tokens SET used_at = ?
       WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`,
    ),
    familyRevoked: db.prepare(
      'SELECT 1 FROM refresh_tokens WHERE family_id = ? AND revoked_at IS NOT NULL LIMIT 1',
    ),
    refreshGet: db.prepare('SELECT * FROM refresh_tokens WHERE hash = ?'),
    familyRevoke: db.prepare(
      'UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL',
    ),
    familyAccess: db.prepare(
      `SELECT access_jti AS jti, access_exp AS exp FROM refresh_tokens
       WHERE family_id = ? AND access_exp > ? ORDER BY created_at, access_jti`,
    ),
    revAdd: db.prepare(
      'INSERT INTO revocations (jti, exp) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING',
    ),
    revSince: db.prepare(
      'SELECT seq, jti, exp FROM revocations WHERE seq > ? ORDER BY seq LIMIT 10000',
    ),
    revPurge: db.prepare('DELETE FROM revocations WHERE exp <= ?'),
    replayPurge: db.prepare('DELETE FROM replay WHERE exp <= ?'),
    replayClaim: db.prepare(
      'INSERT INTO replay (key, exp) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
    ),
  };

  const consume = db.transaction((hash: string, now: number): ConsumeResult => {
    const won = q.refreshUse.run(now, hash, now).changes === 1;
    const row = q.refreshGet.get(hash) as RefreshRow | undefined;
    if (row === undefined) return { status: 'invalid' };
    if (won) return { status: 'ok', record: refreshFromRow(row) };
    if (row.used_at !== null && row.revoked_at === null) {
      return { status: 'reused', record: refreshFromRow(row) };
    }
    return { status: 'invalid' };
  });

  const revokeFamily = db.transaction((familyId: string, now: number): Revocation[] => {
    q.familyRevoke.run(now, familyId);
    const access = q.familyAccess.all(familyId, now) as Revocation[];
    for (const r of access) q.revAdd.run(r.jti, r.exp);
    return access;
  });

  return {
    kind: 'sqlite',
    clients: {
      insert: (c) => attempt('clients.insert', () => void q.clientInsert.run(clientToRow(c))),
      get: (id) =>
        attempt('clients.get', () => {
          const row = q.clientGet.get(id) as ClientRow | undefined;
          return row && clientFromRow(row);
        }),
      list: () =>
        attempt('clients.list', () => (q.clientList.all() as ClientRow[]).map(clientFromRow)),
      revoke: (id, now) =>
        attempt('clients.revoke', () => q.clientRevoke.run(now, id).changes === 1),
      setLimits: (id, limits) =>
        attempt(
          'clients.setLimits',
          () =>
            q.clientLimits.run(limits === null ? null : JSON.stringify(limits), id).changes === 1,
        ),
    },
    refresh: {
      insert: (r) => attempt('refresh.insert', () => void q.refreshInsert.run(refreshToRow(r))),
      consume: (hash, now) => attempt('refresh.consume', () => consume(hash, now)),
      revokeFamily: (familyId, now) =>
        attempt('refresh.revokeFamily', () => revokeFamily(familyId, now)),
      find: (hash) =>
        attempt('refresh.find', () => {
          const row = q.refreshGet.get(hash) as RefreshRow | undefined;
          return row && refreshFromRow(row);
        }),
      familyRevoked: (familyId) =>
        attempt('refresh.familyRevoked', () => q.familyRevoked.get(familyId) !== undefined),
    },
    revocations: {
      add: (r) => attempt('revocations.add', () => void q.revAdd.run(r.jti, r.exp)),
      since: (cursor) =>
        attempt('revocations.since', () => {
          const rows = q.revSince.all(cursor) as { seq: number; jti: string; exp: number }[];
          const last = rows.at(-1);
          return {
            items: rows.map(({ jti, exp }) => ({ jti, exp })),
            cursor: last ? last.seq : cursor,
          };
        }),
      purge: (now) =>
        attempt('revocations.purge', () => {
          q.revPurge.run(now);
          q.replayPurge.run(now);
        }),
    },
    replay: {
      claim: (key, exp, now) =>
        attempt('replay.claim', () => {
          q.replayPurge.run(now);
          return q.replayClaim.run(key, exp).changes === 1;
        }),
    },
    audit,
    registry: sqliteRegistry(db),
    keys: sqliteKeys(db),
    close: async () => {
      await audit.close();
      await attempt('close', () => void db.close());
    },
  };
}

/**
 * better-sqlite3 throws synchronously; this turns a failure into a rejected promise carrying a
 * StoreError (the driver's message, which may quote SQL, stays in `cause`).
 */
function attempt<T>(op: string, run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (cause) {
    return Promise.reject(new StoreError(`SQLite store: ${op} failed`, { cause }));
  }
}

function migrate(db: BetterSqlite3.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS gatehouse_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  const done = new Set(
    (db.prepare('SELECT id FROM gatehouse_migrations').all() as { id: number }[]).map((r) => r.id),
  );
  for (const m of migrations) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      for (const stmt of m.sql)
        db.exec(stmt.replaceAll('%SERIAL%', 'INTEGER PRIMARY KEY AUTOINCREMENT'));
      db.prepare('INSERT INTO gatehouse_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(
        m.id,
        m.name,
        Math.floor(Date.now() / 1000),
      );
    })();
  }
}
