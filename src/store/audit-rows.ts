/**
 * @module store/audit-rows — the audit tables' column names and the mapping between them and
 * {@link AuditRow}, shared by both SQL backends. Every row read is checked for shape here, so a
 * damaged row reaches `audit verify` as a value it can name, never as a crash.
 */
import { StoreError } from '../errors.js';
import type { AuditCheckpointRow, AuditRow, ChainHead } from './types.js';

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
