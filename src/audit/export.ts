/**
 * @module audit/export — the selected events as JSON Lines or CSV, produced page by page so an
 * export of millions of events holds one page in memory. JSON Lines keep everything needed to
 * re-verify the chain offline: each line is `{chain, seq, hash, prev_hash, event}` where `event`
 * is the stored event (its RFC 8785 encoding is what was hashed). CSV (RFC 4180) is for people
 * and spreadsheets: one row per event, fixed columns, and text cells that a spreadsheet would
 * run as a formula (`=`, `+`, `-`, `@`, tab, CR first) prefixed with `'` (OWASP CSV injection).
 */
import type { AuditCursor, AuditRow } from '../store/index.js';

export type ExportFormat = 'jsonl' | 'csv';

/** Reads one page of events after `after` (the store's listing with a fixed filter). */
export type PageReader = (after: AuditCursor | undefined, limit: number) => Promise<AuditRow[]>;

const CSV_COLUMNS = [
  'time',
  'chain',
  'seq',
  'request_id',
  'issuer',
  'subject',
  'client_id',
  'roles',
  'action',
  'resource',
  'decision',
  'reason',
  'status',
  'latency_ms',
  'source',
  'prompt_tokens',
  'completion_tokens',
  'prompt_sha256',
  'output_sha256',
  'hash',
] as const;

/** The stored event, or undefined when its text is damaged (exports never stop on it). */
function parsed(row: AuditRow): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(row.event);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function jsonLine(row: AuditRow): string {
  const event = parsed(row);
  const base = { chain: row.chain, seq: row.seq, hash: row.hash, prev_hash: row.prevHash };
  return `${JSON.stringify(event === undefined ? { ...base, corrupt: true } : { ...base, event })}\n`;
}

/** One CSV cell (RFC 4180 quoting, formula prefix on text). */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(row: AuditRow): string {
  const e = parsed(row) ?? {};
  const usage = (e.usage ?? null) as { promptTokens?: unknown; completionTokens?: unknown } | null;
  const roles = Array.isArray(e.roles) ? (e.roles as unknown[]).join(' ') : null;
  const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    time: new Date(row.time).toISOString(),
    chain: row.chain,
    seq: row.seq,
    request_id: e.requestId,
    issuer: e.issuer,
    subject: row.subject,
    client_id: row.clientId,
    roles,
    action: row.action,
    resource: row.resource,
    decision: row.decision,
    reason: e.reason ?? (parsed(row) === undefined ? 'corrupt row' : null),
    status: row.status,
    latency_ms: e.latencyMs,
    source: e.source,
    prompt_tokens: usage?.promptTokens,
    completion_tokens: usage?.completionTokens,
    prompt_sha256: e.promptSha256,
    output_sha256: e.outputSha256,
    hash: row.hash,
  };
  return `${CSV_COLUMNS.map((c) => cell(values[c])).join(',')}\r\n`;
}

/** The export as chunks of text (one per page), in (time, chain, seq) order. */
export async function* exportEvents(
  read: PageReader,
  format: ExportFormat,
  pageSize = 1000,
): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  const line = format === 'csv' ? csvLine : jsonLine;
  let after: AuditCursor | undefined;
  for (;;) {
    const rows = await read(after, pageSize);
    if (rows.length === 0) return;
    yield rows.map(line).join('');
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < pageSize) return;
    after = { time: last.time, chain: last.chain, seq: last.seq };
  }
}
