/**
 * @module inference/backends/tfjs/pool — runs USE-lite in worker threads. The event loop only
 * tokenizes (for usage counts) and moves vectors; each worker owns a graph, and `parallelism`
 * tells the batcher how many batches may run at once (one per worker).
 */
import { Worker } from 'node:worker_threads';
import { ModelArtifactError } from '../../artifact.js';
import { ModelUnavailableError } from '../../errors.js';
import type { BackendInfo, EmbeddingHandle, ModelSpecOf } from '../../types.js';
import type { EmbedReply } from './worker.js';
import { createUseTokenizer, type PieceTrie, type Vocabulary } from './tokenizer.js';

type TfjsSpec = ModelSpecOf<'tfjs'>;
import { TFJS_DIMENSIONS } from './model.js';

interface Ready {
  ready: true;
  info: BackendInfo;
  vocabulary: Vocabulary;
}
type Hello = Ready | { ready: false; error: string };

interface Pending {
  resolve: (flat: Float32Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/**
 * A worker running the entry next to this module: the compiled .js directly, or — under tsx
 * and vitest, where this file is .ts — through a tiny bootstrap that registers tsx's loader
 * first (workers do not inherit it, and `--import` is not accepted in worker execArgv).
 */
function spawnWorker(spec: TfjsSpec): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: { spec } });
  }
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); });`;
  return new Worker(boot, { eval: true, workerData: { spec } });
}

function start(
  spec: TfjsSpec,
  pending: Map<number, Pending>,
): Promise<{ slot: Slot; hello: Ready }> {
  const worker = spawnWorker(spec);
  return new Promise((resolve, reject) => {
    worker.once('error', (err) => {
      reject(new ModelArtifactError(`tfjs worker failed: ${err.message}`));
    });
    worker.once('message', (hello: Hello) => {
      if (!hello.ready) {
        void worker.terminate();
        reject(new ModelArtifactError(hello.error));
        return;
      }
      worker.on('message', (reply: EmbedReply) => {
        const p = pending.get(reply.id);
        if (p === undefined) return;
        pending.delete(reply.id);
        if ('error' in reply) p.reject(new ModelUnavailableError(reply.error));
        else p.resolve(reply.flat);
      });
      resolve({ slot: { worker, busy: 0 }, hello });
    });
  });
}

/** Loads the model in `spec.threads` workers and returns a handle that dispatches to them. */
export async function loadInWorkers(spec: TfjsSpec): Promise<EmbeddingHandle> {
  const pending = new Map<number, Pending>();
  const started = await Promise.allSettled(
    Array.from({ length: Math.max(1, spec.threads) }, () => start(spec, pending)),
  );
  const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined || ok[0] === undefined) {
    await Promise.all(ok.map((s) => s.slot.worker.terminate()));
    throw failed?.reason instanceof Error
      ? failed.reason
      : new ModelArtifactError('tfjs workers failed');
  }
  const { hello } = ok[0];
  const slots = ok.map((s) => s.slot);
  // The tokenizer stays on this thread: usage counts and input limits are synchronous.
  const embeddings = (await import('@energetic-ai/embeddings')) as unknown as {
    EmbeddingsModel: new (d: { vocabulary: Vocabulary; model: unknown }) => {
      tokenizer: { trie: PieceTrie };
    };
  };
  const { trie } = new embeddings.EmbeddingsModel({ vocabulary: hello.vocabulary, model: null })
    .tokenizer;
  const tokenizer = createUseTokenizer(hello.vocabulary, trie);
  let nextId = 0;
  let closed = false;

  const run = (texts: readonly string[]): Promise<Float32Array> => {
    // Least-busy worker: a free one when there is one.
    const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = nextId++;
    slot.busy++;
    return new Promise<Float32Array>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, texts: [...texts] });
    }).finally(() => {
      slot.busy--;
    });
  };

  return {
    task: 'embedding',
    dimensions: TFJS_DIMENSIONS,
    parallelism: slots.length,
    info: hello.info,
    countTokens: (text) => tokenizer.encode(text).length,
    async embed(texts) {
      if (closed) throw new ModelUnavailableError(`model ${spec.id} is closed`);
      if (texts.length === 0) return [];
      const flat = await run(texts);
      return texts.map((_, i) => flat.slice(i * TFJS_DIMENSIONS, (i + 1) * TFJS_DIMENSIONS));
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const p of pending.values())
        p.reject(new ModelUnavailableError(`model ${spec.id} is closed`));
      pending.clear();
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
