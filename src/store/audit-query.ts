/**
 * @module store/audit-query — the one SQL query behind audit listings and exports, for both
 * dialects (they differ only in how parameters are written). Filters are equality tests on
 * indexed columns and a time range; pages follow (time, chain, seq) order with keyset
 * pagination, so a page costs the same at the millionth event as at the first.
 */
import { AUDIT_COLUMNS } from './audit-rows.js';

/** Which events to select. Times are epoch milliseconds; `to` is exclusive. */
export interface AuditFilter {
  from?: number;
  to?: number;
  subject?: string;
  clientId?: string;
  action?: string;
  /** A model id: events whose resource is `model:<id>` or `model:<id>@<sha256>`. */
  model?: string;
  decision?: 'allow' | 'deny' | 'error';
  status?: number;
  /** One chain only. */
  chain?: string;
}

/** The position after which a page starts (the last event of the previous page). */
export interface AuditCursor {
  time: number;
  chain: string;
  seq: number;
}

/** Escapes LIKE wildcards (`\` is the escape character). */
const likeLiteral = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The SELECT of one page: `param(i)` writes the i-th (1-based) placeholder (`?` in SQLite,
 * `$i` in PostgreSQL).
 */
export function auditPageSql(
  filter: AuditFilter,
  after: AuditCursor | undefined,
  limit: number,
  param: (i: number) => string,
): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return param(params.length);
  };
  if (filter.from !== undefined) where.push(`time >= ${p(filter.from)}`);
  if (filter.to !== undefined) where.push(`time < ${p(filter.to)}`);
  if (filter.subject !== undefined) where.push(`subject = ${p(filter.subject)}`);
  if (filter.clientId !== undefined) where.push(`client_id = ${p(filter.clientId)}`);
  if (filter.action !== undefined) where.push(`action = ${p(filter.action)}`);
  if (filter.decision !== undefined) where.push(`decision = ${p(filter.decision)}`);
  if (filter.status !== undefined) where.push(`status = ${p(filter.status)}`);
  if (filter.chain !== undefined) where.push(`chain = ${p(filter.chain)}`);
  if (filter.model !== undefined) {
    const exact = `model:${filter.model}`;
    where.push(
      `(resource = ${p(exact)} OR resource LIKE ${p(`${likeLiteral(exact)}@%`)} ESCAPE '\\')`,
    );
  }
  if (after !== undefined) {
    // Each placeholder is used once: SQLite's `?` cannot be referred to twice.
    const { time, chain, seq } = after;
    where.push(
      `(time > ${p(time)} OR (time = ${p(time)} AND (chain > ${p(chain)} OR (chain = ${p(chain)} AND seq > ${p(seq)}))))`,
    );
  }
  const sql =
    `SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_events` +
    (where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`) +
    ` ORDER BY time, chain, seq LIMIT ${p(limit)}`;
  return { sql, params };
}
