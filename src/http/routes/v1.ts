/**
 * @module http/routes/v1 — `GET /v1/models` and `GET /v1/models/{id}` (OpenAI shape): every
 * servable model — the configured ones and the few-shot classifiers built on them
 * (`moderation`, `prompt-injection`) — with Gatehouse's own facts about each under `gatehouse`:
 * what it does (task, description, the endpoints that accept it, labels), digest, load time,
 * memory, and for a classifier the model it is built on, its threshold and method. A model served
 * from the registry shows its active version (`version`, `version_id`) beside `sha256`, the
 * approved digest of that version; a model from the config file has null for both.
 */
import type { FastifyInstance } from 'fastify';
import type { InferenceService, ModelHandle, ServedModel } from '../../inference/index.js';

/** Endpoints that accept a model of each task in their `model` field. */
const ENDPOINTS: Readonly<Record<ModelHandle['task'], readonly string[]>> = {
  embedding: ['/v1/embeddings'],
  generation: ['/v1/chat/completions', '/v1/completions'],
  classification: [],
};

/** What the built-in classifiers are for; an operator's own example set gets a generic line. */
const PURPOSE = new Map<string, string>([
  ['moderation', 'Content moderation (OpenAI moderation categories)'],
  [
    'prompt-injection',
    'Prompt-injection detection (instruction overrides, role spoofing, jailbreaks, exfiltration)',
  ],
]);

const DESCRIPTION: Readonly<Record<ModelHandle['task'], string>> = {
  embedding: 'Text embeddings',
  generation: 'Text generation (chat and completions)',
  classification: 'Text classification',
};

/** The few-shot facts of a classifier handle, read structurally (plain values). */
function fewShot(handle: ModelHandle) {
  if (handle.task !== 'classification' || !('builtOn' in handle)) return undefined;
  const h: Record<string, unknown> = { ...handle };
  return {
    builtOn: typeof h.builtOn === 'string' ? h.builtOn : null,
    method: typeof h.method === 'string' ? h.method : null,
    threshold: typeof h.threshold === 'number' ? h.threshold : null,
    fallbackLabel: typeof h.fallbackLabel === 'string' ? h.fallbackLabel : null,
  };
}

function entry(m: ServedModel, classifier: boolean) {
  const i = m.info;
  const few = classifier ? fewShot(m.handle) : undefined;
  const flags = i.labels?.filter((l) => l !== few?.fallbackLabel);
  const description =
    few === undefined
      ? DESCRIPTION[i.task]
      : `${PURPOSE.get(m.config.id) ?? DESCRIPTION.classification}: flags ${flags?.join(', ') ?? ''}; a few-shot classifier over ${few.builtOn ?? 'an embedding model'}`;
  return {
    id: m.config.id,
    object: 'model',
    created: m.created,
    owned_by: 'gatehouse',
    gatehouse: {
      backend: i.backend,
      task: i.task,
      description,
      endpoints: classifier ? ['/v1/moderations'] : ENDPOINTS[i.task],
      sha256: i.sha256 ?? null,
      version: m.version?.version ?? null,
      version_id: m.version?.versionId ?? null,
      size_bytes: i.sizeBytes ?? null,
      load_ms: i.loadMs,
      rss_delta_bytes: i.rssDeltaBytes,
      ...(i.dimensions === undefined ? {} : { dimensions: i.dimensions }),
      ...(i.contextSize === undefined ? {} : { context_size: i.contextSize }),
      ...(i.labels === undefined ? {} : { labels: i.labels }),
      ...(few === undefined
        ? {}
        : {
            built_on: few.builtOn,
            method: few.method,
            threshold: few.threshold,
            fallback_label: few.fallbackLabel,
          }),
    },
  };
}

export function v1Routes(app: FastifyInstance, inference: InferenceService): void {
  const config = { scope: 'models:read' };
  const list = () => [
    ...inference.models().map((m) => entry(m, false)),
    ...inference.classifierModels().map((m) => entry(m, true)),
  ];
  app.get('/v1/models', { config }, () => ({ object: 'list', data: list() }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', { config }, (request) => {
    const { id } = request.params;
    const classifier = inference.classifierModels().find((m) => m.config.id === id);
    return classifier === undefined ? entry(inference.lookup(id), false) : entry(classifier, true);
  });
}
