/**
 * @module http/routes/metrics — `GET /metrics`: the Prometheus text exposition, for a token with
 * `metrics:read` (granted to the built-in `admin` role).
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/index.js';

export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { scope: 'metrics:read' } }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.header('content-type', metrics.contentType).send(text);
  });
}
