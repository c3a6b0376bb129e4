/** @module http/routes/health — liveness and readiness probes (unauthenticated, no details). */
import type { FastifyInstance } from 'fastify';

export function healthRoutes(app: FastifyInstance, ready: () => boolean): void {
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => {
    if (!ready()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ready' };
  });
}
