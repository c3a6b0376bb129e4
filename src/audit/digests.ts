/**
 * @module audit/digests — the exact definition of `prompt_sha256` and `output_sha256`, the two
 * digests an audit event and a receipt carry instead of the texts. Pure functions over plain
 * values, so anyone holding the request and the response can recompute them with any SHA-256 and
 * any RFC 8785 (JSON Canonicalization Scheme) library:
 *
 * | endpoint | prompt_sha256 = SHA-256 of … | output_sha256 = SHA-256 of … |
 * |---|---|---|
 * | `/v1/chat/completions` | JCS(`messages`, as sent) | UTF-8 of the generated text (all of it, also when streamed) |
 * | `/v1/completions` | JCS(`prompt`, as sent) | UTF-8 of the generated text |
 * | `/v1/embeddings` | JCS(`input`, as sent) | JCS(the array of vectors, one array of numbers per input) |
 * | `/v1/moderations` | JCS(`input`, as sent) | JCS(`results`, as sent) |
 *
 * JCS(x) is the RFC 8785 encoding of x as UTF-8. Digests are lower-case hex. "As sent" means the
 * JSON value of that member in the request body (a string stays a string, an array an array).
 * Embedding vectors are the numbers of the response's `data[i].embedding` (with
 * `encoding_format: base64`, the float32 values it decodes to); text is UTF-8 with a lone
 * surrogate written as U+FFFD, as every UTF-8 encoder (WHATWG TextEncoder) writes it.
 */
import { createHash, type Hash } from 'node:crypto';
import { canonicalize, type Canonical } from './canonical.js';

/** The endpoints whose requests carry digests. */
export type DigestEndpoint = 'chat' | 'completions' | 'embeddings' | 'moderations';

/** The request member each endpoint's prompt digest covers. */
export const PROMPT_FIELD: Readonly<Record<DigestEndpoint, 'messages' | 'prompt' | 'input'>> = {
  chat: 'messages',
  completions: 'prompt',
  embeddings: 'input',
  moderations: 'input',
};

/** Lower-case hex SHA-256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `prompt_sha256` of an input value as the client sent it (`messages`, `prompt` or `input`). */
export function promptSha256(input: Canonical): string {
  return sha256Hex(canonicalize(input));
}

/** `output_sha256` of chat and completions: the UTF-8 of the whole generated text. */
export function textOutputSha256(text: string): string {
  return sha256Hex(text);
}

/** `output_sha256` of embeddings: JCS of the vectors, one array of numbers per input. */
export function embeddingsOutputSha256(
  vectors: readonly (readonly number[] | Float32Array)[],
): string {
  return sha256Hex(canonicalize(vectors.map((v) => Array.from(v))));
}

/** `output_sha256` of moderations: JCS of the response's `results` array. */
export function moderationsOutputSha256(results: Canonical): string {
  return sha256Hex(canonicalize(results));
}

/**
 * `output_sha256` of any endpoint's output: a string is generated text (UTF-8), anything else a
 * structured output (embeddings' vectors, moderations' results) hashed as JCS.
 */
export function outputSha256(output: string | Canonical): string {
  return typeof output === 'string' ? textOutputSha256(output) : sha256Hex(canonicalize(output));
}

/** The prompt value a request body carries for `endpoint` (undefined when it is missing). */
export function promptInput(
  endpoint: DigestEndpoint,
  body: Readonly<Record<string, unknown>>,
): Canonical | undefined {
  return body[PROMPT_FIELD[endpoint]] as Canonical | undefined;
}

const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * The output digest of a streamed text, fed delta by delta: equal to `textOutputSha256` of the
 * concatenated deltas. A delta ending in the first half of a surrogate pair is held back until
 * the next one, so a pair split across deltas still hashes as the one character it is.
 */
export class TextOutputHasher {
  readonly #hash: Hash = createHash('sha256');
  #pending = '';

  /** Adds the next delta. */
  update(delta: string): this {
    let text = this.#pending + delta;
    this.#pending = '';
    if (text.length > 0 && isHigh(text.charCodeAt(text.length - 1))) {
      this.#pending = text.slice(-1);
      text = text.slice(0, -1);
    }
    if (text.length > 0) this.#hash.update(text);
    return this;
  }

  /** The lower-case hex digest of everything added; the hasher cannot be used afterwards. */
  digest(): string {
    if (this.#pending.length > 0) this.#hash.update(this.#pending);
    return this.#hash.digest('hex');
  }
}
