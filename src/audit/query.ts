/**
 * @module audit/query — the filters of `GET /v1/audit/events` and `/v1/audit/export` (and
 * `gatehouse audit export`) read from plain string parameters, the opaque cursor, and the shape
 * an event is shown in. Anything unexpected is a 400 naming the parameter, never silently
 * ignored: an auditor who mistypes a filter must not get an unfiltered answer.
 */
import { BadRequestError } from '../errors.js';
import type { AuditCursor, AuditQuery, AuditRow } from '../store/index.js';

/** The filters, as named on the wire. */
export const FILTERS = ['from', 'to', 'subject', 'client', 'action', 'model', 'decision', 'status'];
const DECISIONS = new Set(['allow', 'deny', 'error']);
/** RFC 3339 date-time (with a zone: `Z` or ±hh:mm). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Most events one page may hold. */
export const MAX_PAGE = 1000;

export interface ParsedAuditQuery {
  query: AuditQuery;
  after: AuditCursor | undefined;
  limit: number;
}

function time(name: string, v: string): number {
  const ms = RFC3339.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new BadRequestError(`${name} must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z`);
  }
  return ms;
}

function text(name: string, v: string): string {
  if (v.length === 0 || v.length > 512)
    throw new BadRequestError(`${name} must be 1–512 characters`);
  return v;
}

/**
 * Reads `params` (a parsed query string). `extra` names the other parameters the caller accepts
 * (`cursor`, `limit`, `format`…); any other name is refused.
 */
export function parseAuditQuery(
  params: Readonly<Record<string, unknown>>,
  extra: readonly string[],
): ParsedAuditQuery & { values: ReadonlyMap<string, string> } {
  const values = new Map<string, string>();
  for (const [name, v] of Object.entries(params)) {
    if (!FILTERS.includes(name) && !extra.includes(name)) {
      throw new BadRequestError(
        `unknown parameter ${JSON.stringify(name.slice(0, 64))}; filters: ${FILTERS.join(', ')}`,
      );
    }
    if (typeof v !== 'string') throw new BadRequestError(`${name} must be given once`);
    values.set(name, v);
  }
  const q: AuditQuery = {};
  const get = (n: string) => values.get(n);
  const from = get('from');
  const to = get('to');
  if (from !== undefined) q.from = time('from', from);
  if (to !== undefined) q.to = time('to', to);
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
    throw new BadRequestError('from must be earlier than to');
  }
  const subject = get('subject');
  const client = get('client');
  const action = get('action');
  if (subject !== undefined) q.subject = text('subject', subject);
  if (client !== undefined) q.clientId = text('client', client);
  if (action !== undefined) q.action = text('action', action);
  const model = get('model');
  if (model !== undefined) {
    if (!MODEL.test(model)) throw new BadRequestError('model must be a model id');
    q.model = model;
  }
  const decision = get('decision');
  if (decision !== undefined) {
    if (!DECISIONS.has(decision))
      throw new BadRequestError('decision must be allow, deny or error');
    q.decision = decision;
  }
  const status = get('status');
  if (status !== undefined) {
    if (!/^[1-5]\d\d$/.test(status))
      throw new BadRequestError('status must be an HTTP status code');
    q.status = Number(status);
  }
  const limitText = get('limit');
  let limit = 100;
  if (limitText !== undefined) {
    limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > MAX_PAGE) {
      throw new BadRequestError(`limit must be 1–${String(MAX_PAGE)}`);
    }
  }
  const cursor = get('cursor');
  return {
    query: q,
    after: cursor === undefined ? undefined : decodeCursor(cursor),
    limit,
    values,
  };
}

/** The opaque cursor after `row`. */
export function encodeCursor(row: Pick<AuditRow, 'time' | 'chain' | 'seq'>): string {
  return Buffer.from(JSON.stringify([row.time, row.chain, row.seq])).toString('base64url');
}

/** Reads a cursor made by {@link encodeCursor}; a 400 for anything else. */
export function decodeCursor(cursor: string): AuditCursor {
  const bad = () => new BadRequestError('cursor is not a cursor this server issued');
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    !Number.isSafeInteger(v[0]) ||
    typeof v[1] !== 'string' ||
    !Number.isSafeInteger(v[2])
  ) {
    throw bad();
  }
  return { time: v[0] as number, chain: v[1], seq: v[2] as number };
}

/**
 * An event as the API shows it: its hashed body plus `hash` and `prevHash`. A row whose text
 * cannot be read is shown by its columns with `corrupt: true` (verify names it).
 */
export function eventOf(row: AuditRow): Record<string, unknown> {
  try {
    const body: unknown = JSON.parse(row.event);
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      return { ...(body as Record<string, unknown>), hash: row.hash, prevHash: row.prevHash };
    }
  } catch {
    // fall through
  }
  return {
    chain: row.chain,
    seq: row.seq,
    time: row.time,
    hash: row.hash,
    prevHash: row.prevHash,
    corrupt: true,
  };
}

/** Every row matching `query`, page by page (bounded memory whatever the selection). */
export async function* scanEvents(
  page: (after: AuditCursor | undefined, limit: number) => Promise<AuditRow[]>,
  pageSize = MAX_PAGE,
): AsyncGenerator<AuditRow> {
  let after: AuditCursor | undefined;
  for (;;) {
    const rows = await page(after, pageSize);
    yield* rows;
    const last = rows.at(-1);
    if (last === undefined || rows.length < pageSize) return;
    after = { time: last.time, chain: last.chain, seq: last.seq };
  }
}

const CSV_COLUMNS = [
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
];

/** The CSV header line. */
export const CSV_HEADER = CSV_COLUMNS.join(',');

/**
 * One CSV cell (RFC 4180 quoting). A cell a spreadsheet would run as a formula (leading `=`,
 * `+`, `-`, `@`, tab or CR) gets a leading `'` (OWASP), since subjects and client ids come from
 * outside.
 */
function cell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line for `row` (time as RFC 3339, the event as its canonical JSON text). */
export function csvLine(r: AuditRow): string {
  const time = Number.isFinite(r.time) ? new Date(r.time).toISOString() : '';
  return [
    r.chain,
    r.seq,
    time,
    r.subject,
    r.clientId,
    r.action,
    r.resource,
    r.decision,
    r.status,
    r.hash,
    r.prevHash,
    r.event,
  ]
    .map(cell)
    .join(',');
}

/** One JSON Lines line for `row`. */
export function jsonLine(r: AuditRow): string {
  return JSON.stringify(eventOf(r));
}
