/**
 * @module store/types — what the server keeps, behind one small interface that every backend
 * (SQLite, PostgreSQL) implements and passes one shared conformance suite (store.case.ts).
 * All times are epoch seconds (the registry's, in registry-types.ts, are epoch milliseconds).
 */
import type { KeyRingStore } from './keys-types.js';
import type { RegistryStore } from './registry-types.js';

export type * from './keys-types.js';
export type * from './registry-types.js';

/** How a client proves its identity at the token endpoint (RFC 7591 names). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** A registered OAuth client. Secrets are stored only as slow hashes. */
export interface ClientRecord {
  id: string;
  name: string;
  /** scrypt hash in PHC-like form; null for private_key_jwt clients. */
  secretHash: string | null;
  /** Public JWKs for private_key_jwt; null otherwise. */
  jwks: Record<string, unknown>[] | null;
  authMethods: ClientAuthMethod[];
  roles: string[];
  /** The most this client may ever be granted. */
  scopes: string[];
  allowRefresh: boolean;
  /**
   * Rate limits and quotas that replace the roles' for this client and the subjects it acts for
   * (the policy's `limits` shape, validated by the identity area); null: the roles' limits.
   */
  limits: Readonly<Record<string, unknown>> | null;
  createdAt: number;
  revokedAt: number | null;
}

/** A refresh token (stored by hash), one link in a rotation family. */
export interface RefreshRecord {
  hash: string;
  familyId: string;
  clientId: string;
  subject: string;
  scope: string;
  roles: string[];
  /** DPoP key thumbprint the token is bound to, if any. */
  jkt: string | null;
  /** The access token issued together with this refresh token. */
  accessJti: string;
  accessExp: number;
  createdAt: number;
  expiresAt: number;
}

/** Outcome of presenting a refresh token. */
export type ConsumeResult =
  | { status: 'ok'; record: RefreshRecord }
  | { status: 'reused'; record: RefreshRecord }
  | { status: 'invalid' };

/** A revoked access-token id, kept until the token would have expired anyway. */
export interface Revocation {
  jti: string;
  exp: number;
}

export interface ClientStore {
  insert(client: ClientRecord): Promise<void>;
  get(id: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  /** Marks the client revoked; false if it does not exist or already was. */
  revoke(id: string, now: number): Promise<boolean>;
  /** Replaces the client's limits (null: back to its roles'); false if it does not exist. */
  setLimits(id: string, limits: Readonly<Record<string, unknown>> | null): Promise<boolean>;
}

export interface RefreshStore {
  insert(record: RefreshRecord): Promise<void>;
  /**
   * Atomically marks the token used. Exactly one of any number of concurrent calls with the
   * same hash gets `ok`; the others get `reused`. Expired, revoked or unknown: `invalid`.
   */
  consume(hash: string, now: number): Promise<ConsumeResult>;
  /** Revokes every token of the family; returns the access tokens issued in it. */
  revokeFamily(familyId: string, now: number): Promise<Revocation[]>;
  /** Looks a token up without consuming it (for revocation and introspection). */
  find(hash: string): Promise<RefreshRecord | undefined>;
  /** True once any token of the family has been revoked. */
  familyRevoked(familyId: string): Promise<boolean>;
}

export interface RevocationStore {
  add(revocation: Revocation): Promise<void>;
  /** Revocations with a sequence number above `cursor`, and the new cursor. */
  since(cursor: number): Promise<{ items: Revocation[]; cursor: number }>;
  /** Deletes revocations whose token has expired. */
  purge(now: number): Promise<void>;
}

export interface ReplayStore {
  /** Records `key` until `exp`; true the first time, false for a replay. */
  claim(key: string, exp: number, now: number): Promise<boolean>;
}

/**
 * One audit event as stored: its place in the chain, the columns queries filter on, its links,
 * and the canonical text that was hashed. `time` is epoch milliseconds (unlike the rest of the
 * store). Indexed columns are copies of fields of `event`; `audit verify` checks they agree.
 */
export interface AuditRow {
  chain: string;
  seq: number;
  time: number;
  subject: string | null;
  clientId: string | null;
  action: string;
  resource: string | null;
  decision: string;
  status: number | null;
  hash: string;
  prevHash: string;
  /** RFC 8785 text of the event without `hash`/`prevHash` (chain and seq included). */
  event: string;
}

/** A signed checkpoint over a chain head (a compact JWS), as stored. */
export interface AuditCheckpointRow {
  chain: string;
  seq: number;
  hash: string;
  jws: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** The head of one chain: its last sequence number and hash (0 and 64 zeros when empty). */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** A selection of audit events; every member narrows it. Times are epoch ms. */
export interface AuditQuery {
  /** Inclusive. */
  from?: number;
  /** Exclusive. */
  to?: number;
  subject?: string;
  clientId?: string;
  action?: string;
  /** Events on `model:<id>` or `model:<id>@<sha256>`. */
  model?: string;
  decision?: string;
  status?: number;
}

/** Position in the (time, chain, seq) order of a query: results continue after it. */
export interface AuditCursor {
  time: number;
  chain: string;
  seq: number;
}

/** The audit log's storage: append-only hash chains, one per replica, and their checkpoints. */
export interface AuditStore {
  /** The head of `chain` (seq 0 and 64 zeros for a chain never written). */
  head(chain: string): Promise<ChainHead>;
  /**
   * Compare-and-append: writes every row in one durable transaction (fsync'd / committed) only if
   * the head of `chain` is still `afterSeq`; otherwise writes nothing and answers 'conflict'.
   * Rows must be consecutive from `afterSeq + 1`. Two writers on one chain can never fork it.
   */
  append(chain: string, afterSeq: number, rows: readonly AuditRow[]): Promise<'ok' | 'conflict'>;
  /** Stores a checkpoint; a second one at the same (chain, seq) is ignored. */
  addCheckpoint(checkpoint: AuditCheckpointRow): Promise<void>;
  /** Every chain that has a head, an event or a checkpoint, in byte order. */
  chains(): Promise<string[]>;
  /** Up to `limit` events of `chain` with seq > `afterSeq`, by seq. */
  events(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** Up to `limit` checkpoints of `chain` with seq > `afterSeq`, by seq. */
  checkpoints(chain: string, afterSeq: number, limit: number): Promise<AuditCheckpointRow[]>;
  /** The checkpoint with the highest seq of `chain`, if any. */
  lastCheckpoint(chain: string): Promise<AuditCheckpointRow | undefined>;
  /**
   * The last event of the longest prefix of `chain` whose events are all older than `before`
   * (epoch ms): where a retention purge may cut. Undefined when the first event is not older.
   */
  purgePoint(chain: string, before: number): Promise<ChainHead | undefined>;
  /** Stores a signed purge record (same shape as a checkpoint); a repeat is ignored. */
  addPurge(record: AuditCheckpointRow): Promise<void>;
  /** The purge records of `chain`, by seq. */
  purges(chain: string): Promise<AuditCheckpointRow[]>;
  /**
   * Deletes up to `limit` events of `chain` with seq <= `throughSeq` (and every checkpoint up to
   * it); returns how many events went. Called in rounds so no transaction grows unbounded.
   */
  deleteThrough(chain: string, throughSeq: number, limit: number): Promise<number>;
  /** Up to `limit` events matching `query` after `after`, by (time, chain in byte order, seq). */
  query(query: AuditQuery, after: AuditCursor | undefined, limit: number): Promise<AuditRow[]>;
}

/** The persistence backend. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly clients: ClientStore;
  readonly refresh: RefreshStore;
  readonly revocations: RevocationStore;
  readonly replay: ReplayStore;
  readonly audit: AuditStore;
  /** Model versions, deployments, datasets and lineage (records only). */
  readonly registry: RegistryStore;
  /** The signing-key ring shared by every replica and the CLI. */
  readonly keys: KeyRingStore;
  close(): Promise<void>;
}
