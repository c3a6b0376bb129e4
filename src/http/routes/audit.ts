/**
 * @module http/routes/audit — the audit log over HTTP.
 * - `GET /v1/audit/keys` (public, JWKS): every public key the server ever signed with, what
 *   checkpoints and receipts are verified against.
 * - `GET /v1/audit/verify` (`audit:read`): recomputes every chain; `{ok, chains, problem?}`, 200
 *   either way (the check ran). One verification runs at a time; callers that arrive meanwhile
 *   share its result, so the endpoint cannot make the server scan the store many times over.
 * - `GET /v1/audit/events` (`audit:read`): filtered events, newest last, with an opaque cursor.
 * - `GET /v1/audit/export?format=jsonl|csv` (`audit:read`): the whole selection, streamed page by
 *   page (bounded memory, with backpressure).
 * Unknown parameters, bad cursors and bad ranges are 400 with the parameter named.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  csvLine,
  CSV_HEADER,
  encodeCursor,
  eventOf,
  jsonLine,
  parseAuditQuery,
  scanEvents,
  verifyAudit,
  type VerifyReport,
} from '../../audit/index.js';
import type { Auth } from '../../auth/index.js';
import { BadRequestError } from '../../errors.js';
import type { AuditStore } from '../../store/index.js';

const FORMATS = new Map([
  ['jsonl', { type: 'application/x-ndjson', line: jsonLine, header: undefined }],
  ['csv', { type: 'text/csv; charset=utf-8', line: csvLine, header: CSV_HEADER }],
]);

/** `maxUnsigned`: see `VerifyOptions` (the server passes `unsignedBound(checkpointEvery)`). */
export function auditRoutes(
  app: FastifyInstance,
  auth: Auth,
  audit: AuditStore,
  maxUnsigned: number,
): void {
  app.get('/v1/audit/keys', async (_req, reply) => {
    await auth.keys.refresh();
    void reply.header('cache-control', 'public, max-age=60').type('application/jwk-set+json');
    return auth.keys.auditJwks();
  });

  let running: Promise<VerifyReport> | undefined;
  app.get('/v1/audit/verify', { config: { scope: 'audit:read' } }, async (_req, reply) => {
    running ??= (async () => {
      await auth.keys.refresh();
      return verifyAudit(audit, auth.keys.auditJwks(), { maxUnsigned });
    })().finally(() => {
      running = undefined;
    });
    const report = await running;
    void reply.header('cache-control', 'no-store');
    return report;
  });

  app.get('/v1/audit/events', { config: { scope: 'audit:read' } }, async (req, reply) => {
    const { query, after, limit } = parseAuditQuery(req.query as Record<string, unknown>, [
      'cursor',
      'limit',
    ]);
    // One more than asked tells whether a next page exists without another query.
    const rows = await audit.query(query, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    void reply.header('cache-control', 'no-store');
    return {
      object: 'list',
      data: page.map(eventOf),
      next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null,
    };
  });

  app.get('/v1/audit/export', { config: { scope: 'audit:read' } }, (req, reply) => {
    const { query, values } = parseAuditQuery(req.query as Record<string, unknown>, ['format']);
    const format = FORMATS.get(values.get('format') ?? 'jsonl');
    if (format === undefined) throw new BadRequestError('format must be jsonl or csv');
    async function* lines(): AsyncGenerator<string> {
      if (format?.header !== undefined) yield `${format.header}\r\n`;
      const eol = format?.header === undefined ? '\n' : '\r\n';
      for await (const row of scanEvents((after, n) => audit.query(query, after, n))) {
        yield `${format?.line(row) ?? ''}${eol}`;
      }
    }
    void reply
      .header('cache-control', 'no-store')
      .header(
        'content-disposition',
        `attachment; filename="audit.${values.get('format') ?? 'jsonl'}"`,
      )
      .type(format.type);
    return reply.send(Readable.from(lines()));
  });
}
