/**
 * @module http/routes/embeddings — `POST /v1/embeddings` (OpenAI shape): string or array input,
 * `encoding_format` float|base64, `dimensions` (truncate and re-normalise), usage from the model's
 * own tokenizer. Concurrent requests share micro-batches.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../errors.js';
import type { InferenceService } from '../../inference/index.js';
import { inferenceFacts } from '../inference-facts.js';
import { checkInputs } from '../../guard/index.js';
import type { Policy } from '../../policy/index.js';
import { guardPrompt, requestGuards } from '../content-guards.js';
import { answeredBy, callContext, modelResource, textInputSchema } from '../openai.js';
import { clientGone } from '../sse.js';

interface Body {
  input: string | string[];
  model: string;
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

const schema = {
  body: {
    type: 'object',
    required: ['input', 'model'],
    additionalProperties: false,
    properties: {
      input: textInputSchema(2048),
      model: { type: 'string', minLength: 1, maxLength: 128 },
      encoding_format: { type: 'string', enum: ['float', 'base64'] },
      dimensions: { type: 'integer', minimum: 1, maximum: 65_536 },
      user: { type: 'string', maxLength: 256 },
    },
  },
} as const;

function shrink(v: Float32Array, dims: number | undefined): Float32Array {
  if (dims === undefined || dims === v.length) return v;
  const out = v.slice(0, dims);
  const norm = Math.hypot(...out) || 1;
  return out.map((x) => x / norm);
}

export function embeddingRoutes(
  app: FastifyInstance,
  inference: InferenceService,
  policy: Policy,
): void {
  app.post<{ Body: Body }>(
    '/v1/embeddings',
    { schema, config: { scope: 'inference:invoke', resource: modelResource(), limited: true } },
    async (request, reply) => {
      const { input, model, encoding_format: format = 'float', dimensions } = request.body;
      const texts = typeof input === 'string' ? [input] : input;
      const snapshot = policy.current();
      const controls = snapshot.dataControls(request.identity?.roles ?? []);
      checkInputs(texts, controls);
      const served = inference.model(model, 'embedding');
      const width = served.handle.task === 'embedding' ? served.handle.dimensions : 0;
      if (dimensions !== undefined && dimensions > width) {
        throw new BadRequestError(`dimensions must be at most ${width} for the model '${model}'`);
      }
      const ctx = callContext(request, clientGone(request, reply), controls);
      const guards = requestGuards(request, snapshot, controls, model);
      // Inputs are data, not instructions: the injection guard does not apply to them.
      const guarded =
        guards === undefined
          ? texts
          : await guardPrompt(request, guards, texts, { injection: false, what: 'input', ctx });
      const { vectors, promptTokens } = await inference.embed(model, [...guarded], ctx);
      const shrunk = vectors.map((v) => shrink(v, dimensions));
      inferenceFacts(
        request,
        inference,
        model,
        input,
        { vectors: shrunk },
        {
          promptTokens,
          completionTokens: 0,
        },
        answeredBy(ctx),
      );
      return {
        object: 'list',
        data: shrunk.map((out, index) => {
          return {
            object: 'embedding',
            index,
            embedding:
              format === 'base64'
                ? Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64')
                : Array.from(out),
          };
        }),
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      };
    },
  );
}
