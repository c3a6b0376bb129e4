/**
 * @module store/audit-rows — the audit tables' column names and the mapping between them and
 * {@link AuditRow}, shared by both SQL backends. Every row read is checked for shape here, so a
 * damaged row reaches `audit verify` as a value it can name, never as a crash.
 */
import { StoreError } from '../errors.js';
import type { AuditCheckpointRow, AuditCursor, AuditQuery, AuditRow, ChainHead } from './types.js';

/** The columns of `audit_events`, in insert order. */
export const AUDIT_COLUMNS = [
  'chain',
  'seq',
  'time',
  'subject',
  'client_id',
  'action',
  'resource',
  'decision',
  'status',
  'hash',
  'prev_hash',
  'event',
] as const;

/** `audit_events` as the driver returns it (BIGINTs may come back as strings from pg). */
export type AuditDbRow = Record<(typeof AUDIT_COLUMNS)[number], unknown>;

/** The prev_hash of a chain's first event. */
export const ZERO_HASH = '0'.repeat(64);

/** The head of a chain never written. */
export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: ZERO_HASH });

export function auditToDb(r: AuditRow): AuditDbRow {
  return {
    chain: r.chain,
    seq: r.seq,
    time: r.time,
    subject: r.subject,
    client_id: r.clientId,
    action: r.action,
    resource: r.resource,
    decision: r.decision,
    status: r.status,
    hash: r.hash,
    prev_hash: r.prevHash,
    event: r.event,
  };
}

/** An integer column (pg returns BIGINT as a string); NaN when it is not one. */
export function int(v: unknown): number {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : Number.NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d{1,16}$/.test(v)) return Number(v);
  return Number.NaN;
}

const text = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'bigint'
      ? String(v)
      : v == null
        ? ''
        : JSON.stringify(v);
const textOrNull = (v: unknown): string | null => (v == null ? null : text(v));

/**
 * A stored event. Columns of the wrong type are kept as the closest plain value (NaN, '') for
 * verify to report; only the seq must be an integer to page by, which the primary key ensures.
 */
export function auditFromDb(row: AuditDbRow): AuditRow {
  return {
    chain: text(row.chain),
    seq: int(row.seq),
    time: int(row.time),
    subject: textOrNull(row.subject),
    clientId: textOrNull(row.client_id),
    action: text(row.action),
    resource: textOrNull(row.resource),
    decision: text(row.decision),
    status: row.status == null ? null : int(row.status),
    hash: text(row.hash),
    prevHash: text(row.prev_hash),
    event: text(row.event),
  };
}

export interface CheckpointDbRow {
  chain: unknown;
  seq: unknown;
  hash: unknown;
  jws: unknown;
  created_at: unknown;
}

export function checkpointFromDb(row: CheckpointDbRow): AuditCheckpointRow {
  return {
    chain: text(row.chain),
    seq: int(row.seq),
    hash: text(row.hash),
    jws: text(row.jws),
    createdAt: int(row.created_at),
  };
}

/** Checks that `rows` continue `chain` right after `afterSeq` (a caller bug otherwise). */
export function assertConsecutive(
  chain: string,
  afterSeq: number,
  rows: readonly AuditRow[],
): void {
  if (rows.length === 0) throw new StoreError('audit append: no rows');
  rows.forEach((r, i) => {
    if (r.chain !== chain || r.seq !== afterSeq + 1 + i) {
      throw new StoreError('audit append: rows must continue the chain consecutively');
    }
  });
}

/**
 * The SELECT of an audit query in either dialect: `param(i)` spells the i-th placeholder and
 * `c` is the collation clause that makes `chain` compare bytewise (PostgreSQL `COLLATE "C"`;
 * SQLite's default already does). Values only ever travel as parameters.
 */
export function auditQuerySql(
  q: AuditQuery,
  after: AuditCursor | undefined,
  limit: number,
  param: (i: number) => string,
  c: string,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return param(params.length);
  };
  const where: string[] = [];
  if (q.from !== undefined) where.push(`time >= ${p(q.from)}`);
  if (q.to !== undefined) where.push(`time < ${p(q.to)}`);
  if (q.subject !== undefined) where.push(`subject = ${p(q.subject)}`);
  if (q.clientId !== undefined) where.push(`client_id = ${p(q.clientId)}`);
  if (q.action !== undefined) where.push(`action = ${p(q.action)}`);
  if (q.decision !== undefined) where.push(`decision = ${p(q.decision)}`);
  if (q.status !== undefined) where.push(`status = ${p(q.status)}`);
  if (q.model !== undefined) {
    // A prefix compare, not LIKE: model ids may contain `_`, a LIKE wildcard.
    const prefix = `model:${q.model}@`;
    where.push(
      `(resource = ${p(`model:${q.model}`)} OR substr(resource, 1, ${p(prefix.length)}) = ${p(prefix)})`,
    );
  }
  if (after !== undefined) {
    const t = p(after.time);
    const t2 = p(after.time);
    const ch = p(after.chain);
    const ch2 = p(after.chain);
    const sq = p(after.seq);
    where.push(
      `(time > ${t} OR (time = ${t2} AND (chain${c} > ${ch} OR (chain = ${ch2} AND seq > ${sq}))))`,
    );
  }
  const sql = `SELECT * FROM audit_events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY time, chain${c}, seq LIMIT ${p(limit)}`;
  return { sql, params };
}
