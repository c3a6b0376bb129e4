/**
 * @module inference/backends/tfjs/worker — a worker thread that owns one USE-lite graph. It
 * answers `{id, texts}` with `{id, flat}` (row-major vectors, transferred, not copied).
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelSpecOf } from '../../types.js';
import { loadInThread } from './model.js';

/** Request from the pool. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}

/** Reply to the pool: vectors, or a safe error message. */
export type EmbedReply = { id: number; flat: Float32Array } | { id: number; error: string };

const spec = (workerData as { spec: ModelSpecOf<'tfjs'> }).spec;
const port = parentPort;
if (port === null) throw new Error('tfjs-worker must run in a worker thread');

/**
 * Lowers this thread's priority by `nice` (like `nice -n`, capped at 19): on Linux
 * `setpriority(PRIO_PROCESS, tid)` applies to one thread, and raising one's own niceness needs
 * no privilege. The graph then takes only the CPU that
 * the event loop (parsing, auth, writing answers) and other processes leave: on a small machine
 * the server keeps answering while every core computes. Elsewhere there is no per-thread
 * niceness and the thread keeps the default priority.
 */
function lowerPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && nice > 0) {
      setPriority(tid, Math.min(19, getPriority(tid) + nice));
    }
  } catch {
    // no /proc/thread-self (not Linux), or the OS refused: run at the default priority
  }
}

try {
  // The vocabulary comes back with the graph: the 28 MB artifact is read and hashed once.
  const { handle, vocabulary } = await loadInThread(spec);
  // Only now: a thread inherits its creator's niceness, and loading may be what starts the
  // process-wide libuv pool (fs, crypto) — that pool must keep the default priority.
  lowerPriority(spec.nice);
  port.postMessage({ ready: true, info: handle.info, vocabulary });
  port.on('message', (msg: EmbedRequest) => {
    handle.embed(msg.texts).then(
      (vectors) => {
        const flat = new Float32Array(vectors.length * handle.dimensions);
        vectors.forEach((v, i) => {
          flat.set(v, i * handle.dimensions);
        });
        port.postMessage({ id: msg.id, flat } satisfies EmbedReply, [flat.buffer]);
      },
      (err: unknown) => {
        port.postMessage({
          id: msg.id,
          error: err instanceof Error ? err.message : 'embedding failed',
        } satisfies EmbedReply);
      },
    );
  });
} catch (err) {
  port.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
}
