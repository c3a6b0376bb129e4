/**
 * @module store/migrations — schema shared by both SQL dialects. Each migration is applied once,
 * in order, and recorded in `gatehouse_migrations`.
 */

/**
 * One schema step. `sql` uses only types both dialects share (TEXT, BIGINT, INTEGER); the token
 * `%SERIAL%` stands for an auto-incrementing primary key, which each backend spells its own way.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string[];
}

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'identity',
    sql: [
      `CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT,
        jwks TEXT,
        auth_methods TEXT NOT NULL,
        roles TEXT NOT NULL,
        scopes TEXT NOT NULL,
        allow_refresh INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      )`,
      `CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        scope TEXT NOT NULL,
        roles TEXT NOT NULL,
        jkt TEXT,
        access_jti TEXT NOT NULL,
        access_exp BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        revoked_at BIGINT
      )`,
      `CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)`,
      `CREATE TABLE revocations (
        seq %SERIAL%,
        jti TEXT NOT NULL UNIQUE,
        exp BIGINT NOT NULL
      )`,
      `CREATE TABLE replay (
        key TEXT PRIMARY KEY,
        exp BIGINT NOT NULL
      )`,
    ],
  },
  {
    id: 2,
    name: 'audit',
    sql: [
      // One row per chain: its head, locked (PostgreSQL) by compare-and-append.
      `CREATE TABLE audit_chains (
        chain TEXT PRIMARY KEY,
        head_seq BIGINT NOT NULL,
        head_hash TEXT NOT NULL
      )`,
      `CREATE TABLE audit_events (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        subject TEXT,
        client_id TEXT,
        action TEXT NOT NULL,
        resource TEXT,
        decision TEXT NOT NULL,
        status INTEGER,
        hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (chain, seq)
      )`,
      `CREATE INDEX audit_events_time ON audit_events (time)`,
      `CREATE INDEX audit_events_subject ON audit_events (subject, time)`,
      `CREATE INDEX audit_events_client ON audit_events (client_id, time)`,
      `CREATE TABLE audit_checkpoints (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        jws TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (chain, seq)
      )`,
      // Signed records of retention purges: the chain restarts after `seq`, linking to `hash`.
      `CREATE TABLE audit_purges (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        jws TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (chain, seq)
      )`,
    ],
  },
];
