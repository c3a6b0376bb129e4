/**
 * @module http/routes/moderations — `POST /v1/moderations` (OpenAI shape), served by few-shot
 * classifiers over the embedding model. `model` picks the classifier: `moderation` (default) or
 * `prompt-injection`, the detector the data controls use.
 */
import type { FastifyInstance } from 'fastify';
import type { InferenceService } from '../../inference/index.js';
import { inferenceFacts } from '../inference-facts.js';
import { checkInputs } from '../../guard/index.js';
import type { Policy } from '../../policy/index.js';
import { callContext, controlsOf, modelResource, objectId, textInputSchema } from '../openai.js';
import { clientGone } from '../sse.js';

interface Body {
  input: string | string[];
  model?: string;
}

const schema = {
  body: {
    type: 'object',
    required: ['input'],
    additionalProperties: false,
    properties: {
      input: textInputSchema(256),
      model: { type: 'string', minLength: 1, maxLength: 128 },
    },
  },
} as const;

/** The classifier a request that names no model gets (OpenAI's default is its own). */
const DEFAULT_MODEL = 'moderation';

export function moderationRoutes(
  app: FastifyInstance,
  inference: InferenceService,
  policy: Policy,
): void {
  app.post<{ Body: Body }>(
    '/v1/moderations',
    {
      schema,
      config: { scope: 'inference:invoke', resource: modelResource(DEFAULT_MODEL), limited: true },
    },
    async (request, reply) => {
      const { input, model = DEFAULT_MODEL } = request.body;
      const texts = typeof input === 'string' ? [input] : input;
      const controls = controlsOf(request, policy);
      checkInputs(texts, controls);
      const results = await inference.moderate(
        model,
        texts,
        callContext(request, clientGone(request, reply), controls),
      );
      const out = results.map((r) => ({
        flagged: r.flagged,
        categories: r.categories,
        category_scores: r.categoryScores,
      }));
      inferenceFacts(
        request,
        inference,
        model,
        input,
        { json: out },
        {
          promptTokens: 0,
          completionTokens: 0,
        },
      );
      return { id: objectId('modr'), model, results: out };
    },
  );
}
