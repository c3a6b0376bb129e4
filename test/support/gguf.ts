/**
 * @module test/support/gguf — writes a tiny random-weight LLaMA model as a GGUF v3 file that
 * llama.cpp (node-llama-cpp) loads, so the llama-cpp backend is tested without any download.
 * The layout follows a real llama.cpp export (stories260K): a SentencePiece (`llama`) vocabulary
 * of `<unk>`, `<s>`, `</s>`, 256 byte tokens and plain pieces, and F32 tensors whose dims are
 * stored innermost-first.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

/** Sizes and seed of the generated model; every field has a small default. */
export interface TinyGgufOptions {
  /** PRNG seed for the weights (same seed, same bytes). Default 1. */
  seed?: number;
  /** Embedding width. Default 32. */
  dim?: number;
  /** Transformer blocks. Default 2. */
  layers?: number;
  /** Attention heads (dim must divide by it). Default 4. */
  heads?: number;
  /** Key/value heads (grouped-query attention). Default 2. */
  kvHeads?: number;
  /** Feed-forward width. Default 64. */
  ffn?: number;
  /** Trained context length written to the metadata. Default 256. */
  contextLength?: number;
}

/** The written file and its digest (for ModelSpec.sha256). */
export interface TinyGguf {
  path: string;
  sha256: string;
  sizeBytes: number;
  vocabSize: number;
}

type Value =
  | { t: 'u32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'str'; v: string }
  | { t: 'strs'; v: readonly string[] }
  | { t: 'f32s'; v: readonly number[] }
  | { t: 'i32s'; v: readonly number[] };

/** GGUF value type ids (gguf.h). */
const GGUF_TYPE = { u32: 4, i32: 5, f32: 6, str: 8, arr: 9 } as const;
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;
/** llama.cpp token types. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

/** mulberry32: a tiny seeded PRNG, enough for reproducible weights. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const f32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(n);
  return b;
};
const str = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(bytes.length), bytes]);
};

function encodeValue(value: Value): Buffer[] {
  switch (value.t) {
    case 'u32':
      return [u32(GGUF_TYPE.u32), u32(value.v)];
    case 'f32':
      return [u32(GGUF_TYPE.f32), f32(value.v)];
    case 'str':
      return [u32(GGUF_TYPE.str), str(value.v)];
    case 'strs':
      return [u32(GGUF_TYPE.arr), u32(GGUF_TYPE.str), u64(value.v.length), ...value.v.map(str)];
    case 'f32s':
      return [u32(GGUF_TYPE.arr), u32(GGUF_TYPE.f32), u64(value.v.length), ...value.v.map(f32)];
    case 'i32s': {
      const b = Buffer.alloc(4 * value.v.length);
      value.v.forEach((n, i) => b.writeInt32LE(n, 4 * i));
      return [u32(GGUF_TYPE.arr), u32(GGUF_TYPE.i32), u64(value.v.length), b];
    }
  }
}

/** The vocabulary: specials, all 256 bytes (byte fallback), then plain pieces. */
function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.byte);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  // SentencePiece merges two adjacent symbols only when their concatenation is a piece, so
  // longer pieces are built from shorter ones that are also in the list.
  const merged = ['he', 'in', 'er', 'an', 'on', 'nd', 'ed', '▁the', '▁and'];
  const pieces = ['▁', ...letters.map((l) => `▁${l}`), ...merged, ...letters];
  tokens.push(...pieces);
  types.push(...pieces.map(() => TOKEN_TYPE.normal));
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -(i - 258)));
  return { tokens, scores, types };
}

/** Whether the random model may emit this token: plain pieces and printable ASCII bytes. */
function emittable(id: number, type: number): boolean {
  if (type === TOKEN_TYPE.normal) return true;
  const byte = id - 3;
  return type === TOKEN_TYPE.byte && byte >= 0x20 && byte < 0x7f;
}

interface Tensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/**
 * Writes the model to `path`; returns its sha256. Dimension 0 of the residual stream is a
 * constant that no block writes to, which lets the output layer give control tokens and
 * non-printable bytes a strongly negative logit: the random model never ends early and only
 * produces whole UTF-8 characters, so token counts in tests are exact.
 */
export async function writeTinyGguf(path: string, opts: TinyGgufOptions = {}): Promise<TinyGguf> {
  const { seed = 1, dim = 32, layers = 2, heads = 4, kvHeads = 2, ffn = 64 } = opts;
  const contextLength = opts.contextLength ?? 256;
  const headDim = dim / heads;
  const kvDim = headDim * kvHeads;
  const rand = prng(seed);
  const uniform = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  /** A matrix [inner, outer] whose output row 0 is zero: blocks never touch dimension 0. */
  const intoResidual = (inner: number, scale: number): Float32Array =>
    uniform(inner * dim, scale).fill(0, 0, inner);

  const vocab = vocabulary();
  const n = vocab.tokens.length;
  const embd = uniform(dim * n, 1);
  const out = uniform(dim * n, 1);
  for (let t = 0; t < n; t++) {
    embd[t * dim] = 1; // the constant dimension
    if (!emittable(t, vocab.types[t] ?? 0)) {
      // Logit = -40 × (the constant after the final norm): far below every emittable token.
      out.fill(0, t * dim, (t + 1) * dim);
      out[t * dim] = -40;
    }
  }
  const s = 1 / Math.sqrt(dim);
  const tensors: Tensor[] = [
    { name: 'token_embd.weight', dims: [dim, n], data: embd },
    { name: 'output_norm.weight', dims: [dim], data: ones(dim) },
    { name: 'output.weight', dims: [dim, n], data: out },
  ];
  for (let l = 0; l < layers; l++) {
    const blk = (name: string, dims: number[], data: Float32Array): Tensor => ({
      name: `blk.${l}.${name}.weight`,
      dims,
      data,
    });
    tensors.push(
      blk('attn_norm', [dim], ones(dim)),
      blk('attn_q', [dim, dim], uniform(dim * dim, s)),
      blk('attn_k', [dim, kvDim], uniform(dim * kvDim, s)),
      blk('attn_v', [dim, kvDim], uniform(dim * kvDim, s)),
      blk('attn_output', [dim, dim], intoResidual(dim, s)),
      blk('ffn_norm', [dim], ones(dim)),
      blk('ffn_gate', [dim, ffn], uniform(dim * ffn, s)),
      blk('ffn_up', [dim, ffn], uniform(dim * ffn, s)),
      blk('ffn_down', [ffn, dim], intoResidual(ffn, 1 / Math.sqrt(ffn))),
    );
  }

  const kv: [string, Value][] = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: 'gatehouse-tiny-random' }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: contextLength }],
    ['llama.embedding_length', { t: 'u32', v: dim }],
    ['llama.block_count', { t: 'u32', v: layers }],
    ['llama.feed_forward_length', { t: 'u32', v: ffn }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: kvHeads }],
    ['llama.rope.dimension_count', { t: 'u32', v: headDim }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'strs', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32s', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32s', v: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 2 }],
  ];

  const pad = (len: number): Buffer => Buffer.alloc((ALIGNMENT - (len % ALIGNMENT)) % ALIGNMENT);
  const header: Buffer[] = [Buffer.from('GGUF'), u32(3), u64(tensors.length), u64(kv.length)];
  for (const [key, value] of kv) header.push(str(key), ...encodeValue(value));
  const data: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    header.push(str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(GGML_TYPE_F32));
    header.push(u64(offset));
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    data.push(bytes, pad(bytes.length));
    offset += bytes.length + pad(bytes.length).length;
  }
  const head = Buffer.concat(header);
  const file = Buffer.concat([head, pad(head.length), ...data]);
  await writeFile(path, file);
  const sha256 = createHash('sha256').update(file).digest('hex');
  return { path, sha256, sizeBytes: file.length, vocabSize: n };
}
