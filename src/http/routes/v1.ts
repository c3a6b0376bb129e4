/**
 * @module http/routes/v1 — `GET /v1/models` and `GET /v1/models/{id}` (OpenAI shape), with
 * Gatehouse's own facts about each model (task, digest, load time, memory) under `gatehouse`.
 */
import type { FastifyInstance } from 'fastify';
import type { InferenceService, ServedModel } from '../../inference/index.js';

function entry(m: ServedModel) {
  const i = m.info;
  return {
    id: m.config.id,
    object: 'model',
    created: m.created,
    owned_by: 'gatehouse',
    gatehouse: {
      backend: i.backend,
      task: i.task,
      sha256: i.sha256 ?? null,
      size_bytes: i.sizeBytes ?? null,
      load_ms: i.loadMs,
      rss_delta_bytes: i.rssDeltaBytes,
      ...(i.dimensions === undefined ? {} : { dimensions: i.dimensions }),
      ...(i.contextSize === undefined ? {} : { context_size: i.contextSize }),
      ...(i.labels === undefined ? {} : { labels: i.labels }),
    },
  };
}

export function v1Routes(app: FastifyInstance, inference: InferenceService): void {
  const config = { scope: 'models:read' };
  app.get('/v1/models', { config }, () => ({
    object: 'list',
    data: inference.models().map(entry),
  }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', { config }, (request) =>
    entry(inference.lookup(request.params.id)),
  );
}
