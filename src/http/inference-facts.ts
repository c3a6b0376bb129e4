/**
 * @module http/inference-facts — what an inference route tells the audit stage: the model that
 * answered (id and artifact digest, the resource `model:<id>@<sha256>`), token usage, and the
 * SHA-256 digests of the prompt and the output as `audit/digests` defines them.
 */
import type { FastifyRequest } from 'fastify';
import {
  embeddingsOutputSha256,
  moderationsOutputSha256,
  promptSha256,
  textOutputSha256,
  type Canonical,
} from '../audit/index.js';
import type { InferenceService, ServedModel } from '../inference/index.js';

/**
 * The artifact digest of the model that answered (null when it has none): `answered`, the model
 * the call was looked up on, when the route knows it; else the classifier or model served now.
 */
function modelSha256(
  inference: InferenceService,
  id: string,
  answered: ServedModel | undefined,
): string | null {
  if (answered !== undefined) return answered.info.sha256 ?? null;
  const classifier = inference.classifierModels().find((m) => m.config.id === id);
  return (classifier ?? inference.lookup(id)).info.sha256 ?? null;
}

/** What the response was: generated text, vectors, or another JSON value. */
export type InferenceOutput =
  | { text: string }
  | { vectors: readonly (readonly number[] | Float32Array)[] }
  | { json: Canonical };

/**
 * Counts the tokens of a successful inference response in the metrics, and sets its audit facts
 * (nothing when audit is off).
 */
export function inferenceFacts(
  request: FastifyRequest,
  inference: InferenceService,
  model: string,
  input: Canonical,
  output: InferenceOutput,
  usage: { promptTokens: number; completionTokens: number },
  answered?: ServedModel,
): void {
  request.server.metrics?.tokens(model, usage.promptTokens, usage.completionTokens); // metrics
  // The digests are the audit's to pay for: with the log off, nobody reads them.
  if (request.server.auditStage === undefined) return;
  const sha256 = modelSha256(inference, model, answered);
  request.audit = {
    ...(request.audit?.guard === undefined ? {} : { guard: request.audit.guard }),
    resource: `model:${model}${sha256 === null ? '' : `@${sha256}`}`,
    model: { id: model, sha256 },
    usage,
    promptSha256: promptSha256(input),
    outputSha256:
      'text' in output
        ? textOutputSha256(output.text)
        : 'vectors' in output
          ? embeddingsOutputSha256(output.vectors)
          : moderationsOutputSha256(output.json),
  };
}
