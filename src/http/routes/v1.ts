/**
 * @module http/routes/v1 — the OpenAI-compatible API. Every route declares the scope it needs;
 * the authenticate hook enforces it before the handler runs.
 */
import type { FastifyInstance } from 'fastify';

/** A model as `GET /v1/models` lists it (OpenAI shape). */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export function v1Routes(app: FastifyInstance, models: () => readonly ModelEntry[]): void {
  app.get('/v1/models', { config: { scope: 'models:read' } }, () => ({
    object: 'list',
    data: models(),
  }));
}
