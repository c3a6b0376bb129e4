/**
 * @module http/routes/audit-events — `GET /v1/audit/events` (filters, cursor pagination) and
 * `GET /v1/audit/export?format=jsonl|csv` (the whole selection, streamed page by page in
 * bounded memory), both for `audit:read`. Filters: from, to (RFC 3339), subject, client,
 * action, model, decision, status, chain; anything else is a 400 naming it.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  decodeCursor,
  encodeCursor,
  exportEvents,
  parseAuditFilter,
  parseLimit,
} from '../../audit/index.js';
import { BadRequestError } from '../../errors.js';
import type { AuditRow, Store } from '../../store/index.js';

type Query = Record<string, string | string[] | undefined>;

/** An event as listed: the stored event with its place and links. */
function listed(row: AuditRow): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(row.event);
  } catch {
    event = null;
  }
  return {
    object: 'audit.event',
    chain: row.chain,
    seq: row.seq,
    hash: row.hash,
    prev_hash: row.prevHash,
    ...(event !== null && typeof event === 'object' ? event : { corrupt: true }),
  };
}

export function auditEventRoutes(app: FastifyInstance, store: Store): void {
  const config = { scope: 'audit:read' };

  app.get<{ Querystring: Query }>('/v1/audit/events', { config }, async (request) => {
    const q = request.query;
    const filter = parseAuditFilter(q);
    if (q.format !== undefined) throw new BadRequestError('format applies to /v1/audit/export');
    const limit = parseLimit(typeof q.limit === 'string' ? q.limit : undefined);
    const after = decodeCursor(typeof q.cursor === 'string' ? q.cursor : undefined);
    const rows = await store.audit.page(filter, after, limit);
    const last = rows.at(-1);
    return {
      object: 'list',
      data: rows.map(listed),
      next_cursor:
        rows.length === limit && last !== undefined
          ? encodeCursor({ time: last.time, chain: last.chain, seq: last.seq })
          : null,
    };
  });

  app.get<{ Querystring: Query }>('/v1/audit/export', { config }, (request, reply) => {
    const q = request.query;
    const filter = parseAuditFilter(q);
    if (q.cursor !== undefined || q.limit !== undefined) {
      throw new BadRequestError('the export takes filters only (no cursor or limit)');
    }
    const format = q.format ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') {
      throw new BadRequestError('format must be jsonl or csv');
    }
    const chunks = exportEvents((after, limit) => store.audit.page(filter, after, limit), format);
    void reply
      .header(
        'content-type',
        format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      )
      .header('content-disposition', `attachment; filename="audit.${format}"`)
      .header('cache-control', 'no-store');
    return reply.send(Readable.from(chunks));
  });
}
