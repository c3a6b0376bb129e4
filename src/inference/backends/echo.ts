/**
 * @module inference/backends/echo — a deterministic model for tests and for benchmarking the
 * gateway itself: embeddings derived from a hash of the text, a two-label classifier, and a
 * generator that repeats the prompt word by word (optionally `delayMs` per word).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortSignalOf } from '../../lib/abort.js';
import type {
  ClassificationHandle,
  EmbeddingHandle,
  GenerateRequest,
  GenerateResult,
  GenerationHandle,
  LoadModel,
  ModelSpecOf,
} from '../types.js';

const DIMENSIONS = 64;

/** Whitespace-separated words: the echo model's "tokens". */
function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

const SPACE = /\s/;

/** `words(text).length` without building the array (it runs on every call, twice). */
function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // ASCII fast path; anything else asks the same `\s` class as `words`.
    const space = c < 128 ? c === 32 || (c >= 9 && c <= 13) : SPACE.test(String.fromCharCode(c));
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}

function vector(text: string): Float32Array {
  const out = new Float32Array(DIMENSIONS);
  let block = createHash('sha256').update(text).digest();
  for (let i = 0; i < DIMENSIONS; i++) {
    if (i % 32 === 0 && i > 0) block = createHash('sha256').update(block).digest();
    out[i] = ((block[i % 32] ?? 0) - 127.5) / 127.5;
  }
  const norm = Math.hypot(...out);
  return out.map((v) => v / norm);
}

/** The words of the prompt as the model sees it: one `role: content` line per message. */
function promptWords(req: GenerateRequest): number {
  if (req.prompt !== undefined) return countWords(req.prompt);
  let n = 0;
  // The role and its colon are one word; the space and newline around it separate.
  for (const m of req.messages ?? []) n += 1 + countWords(m.content);
  return n;
}

/** The content of the last user message. */
function lastUser(req: GenerateRequest): string {
  const msgs = req.messages ?? [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m?.role === 'user') return m.content;
  }
  return '';
}

/** Read through a call so that TypeScript does not narrow it across an await. */
function isAborted(req: GenerateRequest): boolean {
  return req.signal.aborted;
}

async function generate(
  spec: ModelSpecOf<'echo'>,
  req: GenerateRequest,
  onText: (text: string) => void,
): Promise<GenerateResult> {
  const source = req.prompt ?? lastUser(req);
  const pieces = words(source);
  const stops = req.stop !== undefined && req.stop.length > 0 ? req.stop : undefined;
  let text = '';
  let n = 0;
  // Checked before the loop too: an empty prompt has no words to check it on.
  let finishReason: GenerateResult['finishReason'] = isAborted(req) ? 'cancelled' : 'stop';
  for (const piece of pieces) {
    if (isAborted(req)) {
      finishReason = 'cancelled';
      break;
    }
    if (n >= req.maxTokens) {
      finishReason = 'length';
      break;
    }
    const chunk = n === 0 ? piece : ` ${piece}`;
    const next = text + chunk;
    const stopAt = stops === undefined ? -1 : firstStop(next, stops);
    if (stopAt >= 0) {
      const cut = next.slice(text.length, stopAt);
      if (cut !== '') onText(cut);
      text += cut;
      break;
    }
    if (spec.delayMs > 0)
      await sleep(spec.delayMs, undefined, { signal: abortSignalOf(req.signal) }).catch(
        () => undefined,
      );
    if (isAborted(req)) {
      finishReason = 'cancelled';
      break;
    }
    onText(chunk);
    text = next;
    n++;
  }
  return { text, finishReason, promptTokens: promptWords(req), completionTokens: n };
}

/** Where the earliest of `stops` begins in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Loads the echo model for the task in `spec.task` (default generation). */
export const loadModel: LoadModel<'echo'> = (spec) => {
  const base = {
    countTokens: countWords,
    close: () => Promise.resolve(),
  };
  const { task } = spec;
  const common = { id: spec.id, backend: 'echo' as const, sha256: undefined, sizeBytes: undefined };
  if (task === 'embedding') {
    const handle: EmbeddingHandle = {
      ...base,
      task,
      dimensions: DIMENSIONS,
      info: { ...common, task, dimensions: DIMENSIONS },
      embed: (texts) => Promise.resolve(texts.map(vector)),
    };
    return Promise.resolve(handle);
  }
  if (task === 'classification') {
    const labels = ['negative', 'positive'] as const;
    const handle: ClassificationHandle = {
      ...base,
      task,
      labels,
      info: { ...common, task, labels },
      classify: (texts) =>
        Promise.resolve(
          texts.map((t) => {
            const p = ((vector(t)[0] ?? 0) + 1) / 2;
            return Float32Array.from([1 - p, p]);
          }),
        ),
    };
    return Promise.resolve(handle);
  }
  const handle: GenerationHandle = {
    ...base,
    task,
    slots: spec.slots,
    contextSize: spec.contextSize || 4096,
    info: { ...common, task, contextSize: spec.contextSize || 4096 },
    generate: (req, onText) => generate(spec, req, onText),
  };
  return Promise.resolve(handle);
};
