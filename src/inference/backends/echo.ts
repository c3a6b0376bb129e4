/**
 * @module inference/backends/echo — a deterministic model for tests and for benchmarking the
 * gateway itself: embeddings derived from a hash of the text, a two-label classifier, and a
 * generator that repeats the prompt word by word (optionally `delayMs` per word).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

function promptOf(req: GenerateRequest): string {
  if (req.prompt !== undefined) return req.prompt;
  const msgs = req.messages ?? [];
  return msgs.map((m) => `${m.role}: ${m.content}`).join('\n');
}

async function generate(
  spec: ModelSpecOf<'echo'>,
  req: GenerateRequest,
  onText: (text: string) => void,
): Promise<GenerateResult> {
  const prompt = promptOf(req);
  const source = req.prompt ?? req.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  const pieces = words(source);
  let text = '';
  let n = 0;
  // A function, not a property read: the signal can flip across the await below.
  const aborted = (): boolean => req.signal.aborted;
  // Checked before the loop too: an empty prompt has no words to check it on.
  let finishReason: GenerateResult['finishReason'] = aborted() ? 'cancelled' : 'stop';
  for (const piece of pieces) {
    if (aborted()) {
      finishReason = 'cancelled';
      break;
    }
    if (n >= req.maxTokens) {
      finishReason = 'length';
      break;
    }
    const chunk = n === 0 ? piece : ` ${piece}`;
    const next = text + chunk;
    const stopAt = (req.stop ?? []).map((s) => next.indexOf(s)).filter((i) => i >= 0);
    if (stopAt.length > 0) {
      const cut = next.slice(text.length, Math.min(...stopAt));
      if (cut !== '') onText(cut);
      text += cut;
      break;
    }
    if (spec.delayMs > 0)
      await sleep(spec.delayMs, undefined, { signal: req.signal }).catch(() => undefined);
    if (aborted()) {
      finishReason = 'cancelled';
      break;
    }
    onText(chunk);
    text = next;
    n++;
  }
  return { text, finishReason, promptTokens: words(prompt).length, completionTokens: n };
}

/** Loads the echo model for the task in `spec.task` (default generation). */
export const loadModel: LoadModel<'echo'> = (spec) => {
  const base = {
    countTokens: (text: string) => words(text).length,
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
