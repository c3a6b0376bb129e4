/**
 * @module inference/backends/onnx/session — one batch forward pass: tokenize with padding and
 * truncation, feed the ONNX Runtime session that transformers.js created, read one output.
 *
 * The session is run directly rather than through `model.forward`: on a failed run,
 * transformers.js prints the whole input tensors (the prompt's token ids, which decode back to
 * the prompt) with console.error, outside the server's redacting logger.
 */
import type { PreTrainedModel, PreTrainedTokenizer } from '@huggingface/transformers';
import { GatewayError } from '../../../errors.js';

type Transformers = typeof import('@huggingface/transformers');

/** The part of an ONNX Runtime tensor this backend reads. */
interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The part of an ONNX Runtime InferenceSession this backend uses. */
interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>, fetches: readonly string[]): Promise<Record<string, unknown>>;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isSession(value: unknown): value is OrtSessionLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    'run' in value &&
    typeof value.run === 'function' &&
    'inputNames' in value &&
    isStringArray(value.inputNames) &&
    'outputNames' in value &&
    isStringArray(value.outputNames)
  );
}

function isTensor(value: unknown): value is OrtTensorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    'data' in value &&
    'dims' in value &&
    Array.isArray(value.dims) &&
    value.dims.every((d) => typeof d === 'number')
  );
}

/** Inputs an encoder may declare; anything else is refused at load. */
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

/** The output of one forward pass, with the attention mask it was computed with. */
export interface ForwardResult {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  readonly mask: BigInt64Array;
}

/** Runs batches through one session. */
export interface Forward {
  run(texts: readonly string[]): Promise<ForwardResult>;
}

/**
 * Wraps the encoder session of `model`. Returns a string explaining the problem (no such
 * session, an input it cannot feed, no `output`) instead of a Forward when the model does not
 * fit the task.
 */
export function makeForward(
  lib: Transformers,
  tokenizer: PreTrainedTokenizer,
  model: PreTrainedModel,
  output: string,
  maxLength: number,
): Forward | string {
  const session: unknown = model.sessions.model;
  if (!isSession(session)) return 'has no encoder session';
  const unknownInput = session.inputNames.find((n) => !KNOWN_INPUTS.has(n));
  if (unknownInput !== undefined) return `has an input this backend cannot feed: ${unknownInput}`;
  if (!session.inputNames.includes('input_ids')) return 'has no input_ids input';
  if (!session.outputNames.includes(output)) {
    return output === 'logits'
      ? 'has no classification head (no logits output)'
      : `has no ${output} output`;
  }

  return {
    async run(texts) {
      const encoded = tokenizer._call([...texts], {
        padding: true,
        truncation: true,
        max_length: maxLength,
      });
      const { input_ids: ids, attention_mask: mask } = encoded;
      if (!(ids instanceof lib.Tensor) || !(mask instanceof lib.Tensor)) {
        throw new GatewayError('INTERNAL', 'tokenizer returned no tensors');
      }
      if (!(mask.data instanceof BigInt64Array)) {
        throw new GatewayError('INTERNAL', 'tokenizer gave a non-int64 attention mask');
      }
      // Only input_ids, attention_mask and token_type_ids get here (checked above); models
      // that declare token types get zeros when the tokenizer has none, as transformers.js does.
      const types = encoded.token_type_ids;
      const feeds: Record<string, unknown> = {};
      for (const name of session.inputNames) {
        const tensor =
          name === 'input_ids'
            ? ids
            : name === 'attention_mask'
              ? mask
              : types instanceof lib.Tensor
                ? types
                : new lib.Tensor('int64', new BigInt64Array(mask.data.length), mask.dims);
        feeds[name] = tensor.ort_tensor;
      }
      // Ask for the one output only, and take the single value returned without trusting its
      // key: onnxruntime-node 1.21 files a fetched output under the name of the session output
      // at the same index (microsoft/onnxruntime#26865, fixed upstream by #26939).
      const returned = Object.values(await session.run(feeds, [output]));
      const result = returned.length === 1 ? returned[0] : undefined;
      if (!isTensor(result) || !(result.data instanceof Float32Array)) {
        throw new GatewayError('INTERNAL', `onnx model gave no float32 '${output}' output`);
      }
      return { data: result.data, dims: result.dims, mask: mask.data };
    },
  };
}
