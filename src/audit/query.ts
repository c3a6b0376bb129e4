/**
 * @module audit/query — the filters of `GET /v1/audit/events` and `/v1/audit/export` (and
 * `gatehouse audit export`), parsed from plain string parameters with a clear message for each
 * mistake, and the opaque pagination cursor. Events are listed in (time, chain, seq) order; the
 * cursor names the last event returned, so a page never repeats or skips an event even when
 * several share a millisecond.
 */
import { BadRequestError } from '../errors.js';
import type { AuditCursor, AuditFilter } from '../store/index.js';
import type { AuditDecision } from './types.js';

export type { AuditCursor, AuditFilter } from '../store/index.js';

/** Parameters every listing accepts besides the filters. */
const PAGING = new Set(['cursor', 'limit', 'format']);
const FILTERS = new Set([
  'from',
  'to',
  'subject',
  'client',
  'action',
  'model',
  'decision',
  'status',
  'chain',
]);
const DECISIONS = new Set<string>(['allow', 'deny', 'error']);
/** RFC 3339 date-time (with a time zone), or a date alone (midnight UTC). */
const RFC3339 =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;
const MAX_TEXT = 512;

/** Largest page. */
export const MAX_PAGE = 1000;
/** Page size when `limit` is absent. */
export const DEFAULT_PAGE = 100;

function time(name: string, value: string): number {
  const ms = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new BadRequestError(
      `${name} must be an RFC 3339 date-time such as 2026-12-01T00:00:00Z (got an invalid value)`,
    );
  }
  return ms;
}

function text(name: string, value: string): string {
  if (value === '' || value.length > MAX_TEXT) {
    throw new BadRequestError(`${name} must be 1 to ${MAX_TEXT} characters`);
  }
  return value;
}

/**
 * The filter named by `params` (query-string values). Unknown parameters, repeated ones, bad
 * times, an empty range and bad enumerations are refused with 400 naming the parameter.
 */
export function parseAuditFilter(
  params: Readonly<Record<string, string | string[] | undefined>>,
): AuditFilter {
  const f: AuditFilter = {};
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    if (!FILTERS.has(name) && !PAGING.has(name)) {
      throw new BadRequestError(
        `unknown parameter '${name.slice(0, 64)}'; filters are ${[...FILTERS].join(', ')}`,
      );
    }
    if (Array.isArray(raw)) throw new BadRequestError(`parameter '${name}' is repeated`);
    if (PAGING.has(name)) continue;
    if (name === 'from') f.from = time('from', raw);
    else if (name === 'to') f.to = time('to', raw);
    else if (name === 'subject') f.subject = text(name, raw);
    else if (name === 'client') f.clientId = text(name, raw);
    else if (name === 'action') f.action = text(name, raw);
    else if (name === 'model') f.model = text(name, raw);
    else if (name === 'chain') f.chain = text(name, raw);
    else if (name === 'decision') {
      if (!DECISIONS.has(raw)) throw new BadRequestError('decision must be allow, deny or error');
      f.decision = raw as AuditDecision;
    } else {
      const n = /^[1-5]\d\d$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isInteger(n)) throw new BadRequestError('status must be an HTTP status code');
      f.status = n;
    }
  }
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to) {
    throw new BadRequestError('from must be earlier than to');
  }
  return f;
}

/** The page size asked for (1…MAX_PAGE, default DEFAULT_PAGE). */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_PAGE)) {
    throw new BadRequestError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  return n;
}

/** The opaque cursor of the page after `last`. */
export function encodeCursor(last: AuditCursor): string {
  return Buffer.from(JSON.stringify([last.time, last.chain, last.seq]), 'utf8').toString(
    'base64url',
  );
}

/** Reads a cursor from `encodeCursor`; anything else is a 400. */
export function decodeCursor(raw: string | undefined): AuditCursor | undefined {
  if (raw === undefined) return undefined;
  const bad = new BadRequestError('cursor is invalid: pass the next_cursor of a previous page');
  if (raw.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw bad;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(v) || v.length !== 3) throw bad;
  const [t, chain, seq] = v as unknown[];
  if (
    !Number.isSafeInteger(t) ||
    typeof chain !== 'string' ||
    chain.length > MAX_TEXT ||
    !Number.isSafeInteger(seq) ||
    (seq as number) < 0
  ) {
    throw bad;
  }
  return { time: t as number, chain, seq: seq as number };
}
