/** @module store/rows — row ↔ record mapping shared by the SQL backends. */
import type { ClientAuthMethod, ClientRecord, RefreshRecord } from './types.js';

/** A `clients` row as both drivers return it (BIGINT may arrive as string from pg). */
export interface ClientRow {
  id: string;
  name: string;
  secret_hash: string | null;
  jwks: string | null;
  auth_methods: string;
  roles: string;
  scopes: string;
  allow_refresh: number;
  limits: string | null;
  created_at: number | string;
  revoked_at: number | string | null;
}

/** A `refresh_tokens` row. */
export interface RefreshRow {
  hash: string;
  family_id: string;
  client_id: string;
  subject: string;
  scope: string;
  roles: string;
  jkt: string | null;
  access_jti: string;
  access_exp: number | string;
  created_at: number | string;
  expires_at: number | string;
  used_at: number | string | null;
  revoked_at: number | string | null;
}

const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: number | string | null): number | null => (v === null ? null : num(v));

/** Maps a `clients` row to its record. */
export function clientFromRow(r: ClientRow): ClientRecord {
  return {
    id: r.id,
    name: r.name,
    secretHash: r.secret_hash,
    jwks: r.jwks === null ? null : (JSON.parse(r.jwks) as Record<string, unknown>[]),
    authMethods: JSON.parse(r.auth_methods) as ClientAuthMethod[],
    roles: JSON.parse(r.roles) as string[],
    scopes: JSON.parse(r.scopes) as string[],
    allowRefresh: num(r.allow_refresh) === 1,
    limits: r.limits === null ? null : (JSON.parse(r.limits) as Record<string, unknown>),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

/** Maps a `refresh_tokens` row to its record. */
export function refreshFromRow(r: RefreshRow): RefreshRecord {
  return {
    hash: r.hash,
    familyId: r.family_id,
    clientId: r.client_id,
    subject: r.subject,
    scope: r.scope,
    roles: JSON.parse(r.roles) as string[],
    jkt: r.jkt,
    accessJti: r.access_jti,
    accessExp: num(r.access_exp),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

/** The columns written when a client is inserted, in the shape the row mappers read back. */
export function clientToRow(c: ClientRecord): ClientRow {
  return {
    id: c.id,
    name: c.name,
    secret_hash: c.secretHash,
    jwks: c.jwks === null ? null : JSON.stringify(c.jwks),
    auth_methods: JSON.stringify(c.authMethods),
    roles: JSON.stringify(c.roles),
    scopes: JSON.stringify(c.scopes),
    allow_refresh: c.allowRefresh ? 1 : 0,
    limits: c.limits === null ? null : JSON.stringify(c.limits),
    created_at: c.createdAt,
    revoked_at: c.revokedAt,
  };
}

/** The columns written when a refresh token is inserted (it starts unused and unrevoked). */
export type NewRefreshRow = Omit<RefreshRow, 'used_at' | 'revoked_at'>;

/** Maps a refresh record to the columns of a new `refresh_tokens` row. */
export function refreshToRow(r: RefreshRecord): NewRefreshRow {
  return {
    hash: r.hash,
    family_id: r.familyId,
    client_id: r.clientId,
    subject: r.subject,
    scope: r.scope,
    roles: JSON.stringify(r.roles),
    jkt: r.jkt,
    access_jti: r.accessJti,
    access_exp: r.accessExp,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
  };
}
