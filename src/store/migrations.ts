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
  {
    id: 3,
    name: 'registry',
    sql: [
      // One row per model: the last version number handed out (an upsert on it numbers versions
      // atomically) and the row that deploy and rollback lock to take turns per model.
      `CREATE TABLE registry_models (
        model TEXT PRIMARY KEY,
        last_version INTEGER NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE registry_versions (
        id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        backend TEXT NOT NULL,
        task TEXT NOT NULL,
        artifact_sha256 TEXT NOT NULL,
        artifact_size BIGINT NOT NULL,
        params TEXT NOT NULL,
        proposed_by TEXT NOT NULL,
        datasets TEXT NOT NULL,
        metadata TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (model, version)
      )`,
      // The last line of defence for "one active version per model", whatever the code does.
      `CREATE UNIQUE INDEX registry_versions_one_active ON registry_versions (model)
        WHERE status = 'active'`,
      `CREATE TABLE registry_transitions (
        seq %SERIAL%,
        version_id TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        at BIGINT NOT NULL
      )`,
      `CREATE INDEX registry_transitions_version ON registry_transitions (version_id, seq)`,
      `CREATE TABLE registry_deployments (
        seq %SERIAL%,
        model TEXT NOT NULL,
        version_id TEXT NOT NULL,
        previous_id TEXT,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL
      )`,
      `CREATE INDEX registry_deployments_model ON registry_deployments (model, seq)`,
      `CREATE TABLE registry_datasets (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        labels TEXT NOT NULL,
        acl TEXT NOT NULL,
        etag INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        deleted_at BIGINT,
        deleted_by TEXT
      )`,
      `CREATE TABLE registry_dataset_versions (
        seq %SERIAL%,
        dataset TEXT NOT NULL,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (dataset, digest)
      )`,
      // Lineage, both ways: the primary key answers "trained on what", the index "what was
      // trained on it". No foreign keys: lineage outlives a purged dataset.
      `CREATE TABLE registry_lineage (
        version_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (version_id, dataset, digest)
      )`,
      `CREATE INDEX registry_lineage_dataset ON registry_lineage (dataset, digest)`,
    ],
  },
  {
    id: 4,
    name: 'client-limits',
    // JSON of the policy's `limits` shape; NULL: the client's roles' limits.
    sql: [`ALTER TABLE clients ADD COLUMN limits TEXT`],
  },
  {
    id: 5,
    name: 'signing-keys',
    sql: [
      // One row (id 1): the key-ring document, replaced only by compare-and-swap on `revision`.
      `CREATE TABLE signing_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL,
        document TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
];
