/**
 * @module http/access-log — one log line per request, written when the response is done (or,
 * status 499, when the client went away first): request id, method, path without the query
 * string (it may carry a credential sent by mistake), status and milliseconds.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Logs the line of one request, with `status` (499: the client went away first). */
export type AccessLogger = (request: FastifyRequest, reply: FastifyReply, status: number) => void;

/** The path of a request URL, without its query string. */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Adds the access log to `app` (on `log`, the base logger: no child logger per request). */
export function accessLog(app: FastifyInstance, base: FastifyBaseLogger): void {
  // Every field of the line is built here from values known to be safe (no header, no body, no
  // query string), so the line skips redaction, which costs more than the rest of the line.
  const log = base.child({}, { redact: [] });
  const write: AccessLogger = (request, reply, status) => {
    log.info(
      {
        reqId: request.id,
        method: request.method,
        url: pathOnly(request.url),
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  };
  app.decorate('accessLog', write);
  app.addHook('onResponse', (request, reply, done) => {
    write(request, reply, reply.statusCode);
    done();
  });
}
