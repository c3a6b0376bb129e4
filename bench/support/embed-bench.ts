/**
 * @module bench/support/embed-bench — USE-lite (tfjs backend) workloads: the loaded handle's
 * `embed()` called in-process with fixed batches, the same through `InferenceService` (the
 * micro-batcher, no HTTP), and one sentence per request through POST /v1/embeddings from the
 * load process with 1, 8 and 32 clients, with batching on and off (`maxBatch: 1`), and with
 * base64 vectors instead of JSON floats at 32 clients.
 */
import type { App } from '../../src/app.js';
import { DeadlineError } from '../../src/inference/index.js';
import { runClients } from './clients.js';
import type { LoadProcess } from './http-load.js';
import { countBatches, embeddingHandle, type BenchApp } from './inference-app.js';
import { measure, type BatchCounter, type Runner } from './samples.js';
import { SENTENCES } from './sentences.js';

/** The served model, as `gatehouse serve` configures it by default on this machine. */
export const EMBED_MODEL = 'use-lite';
/** The same model with batching off. */
export const NOBATCH_MODEL = 'use-lite-nobatch';
/** Concurrent HTTP clients measured. */
export const HTTP_WIDTHS = [1, 8, 32] as const;
/** Batch sizes whose best in-process throughput is the reference for HTTP. */
export const BATCHED_SIZES = [8, 16, 32] as const;

/** Config entries for the two embedding models (`threads` as the default config sets it). */
export function embedModels(threads: number): Record<string, unknown>[] {
  return [
    { id: EMBED_MODEL, backend: 'tfjs', threads },
    { id: NOBATCH_MODEL, backend: 'tfjs', threads, maxBatch: 1 },
  ];
}

/** `count` sentences from the pool starting at `from`, wrapping around. */
function slice(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, k) => SENTENCES[(from + k) % SENTENCES.length] ?? '');
}

/** A name for an in-process workload: `direct b32 ×2`. */
export const directKey = (batch: number, inFlight: number) => `direct b${batch} ×${inFlight}`;
/** A name for an HTTP workload: `http ×32`, `http nobatch ×32`. */
export const httpKey = (width: number, batching = true) =>
  `http${batching ? '' : ' nobatch'} ×${width}`;
/** The in-process workload through the service's micro-batcher. */
export const SERVICE_KEY = 'service ×32';
/** HTTP with 32 clients asking for base64 vectors (the OpenAI SDK's default) instead of floats. */
export const HTTP_BASE64_KEY = 'http base64 ×32';

/**
 * Main-thread cost of `countTokens` (the service tokenizes every input for usage and limits
 * before batching), µs per sentence of the pool, timed for about `ms` milliseconds.
 */
export function countTokensUs(app: App, ms: number): number {
  const handle = embeddingHandle(app, EMBED_MODEL);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms && n < 1_000_000) {
    for (const s of SENTENCES) handle.countTokens(s);
    n += SENTENCES.length;
  }
  return ((performance.now() - start) * 1000) / n;
}

/** Every embedding workload, keyed as above, in the order they run within a round. */
export function embedRunners(b: BenchApp, load: LoadProcess): Record<string, Runner> {
  const { app } = b;
  const handle = embeddingHandle(app, EMBED_MODEL);
  const batches = countBatches(handle);
  const workers = handle.parallelism ?? 1;
  const runners: Record<string, Runner> = {};

  const direct = (batch: number, inFlight: number): Runner => {
    return (ms) =>
      measure(
        async () => ({
          result: await runClients(inFlight, ms, async (c, i) => {
            const vectors = await handle.embed(slice((c + i * inFlight) * batch, batch));
            return { units: vectors.length };
          }),
        }),
        batches,
      );
  };
  const shapes: [number, number][] = [
    [1, 1],
    [1, workers],
    ...BATCHED_SIZES.map((s): [number, number] => [s, workers]),
    [32, 1],
  ];
  for (const [batch, inFlight] of shapes)
    runners[directKey(batch, inFlight)] = direct(batch, inFlight);

  runners[SERVICE_KEY] = serviceRunner(app, batches);
  for (const w of HTTP_WIDTHS) runners[httpKey(w)] = httpRunner(b, load, w, EMBED_MODEL, batches);
  runners[HTTP_BASE64_KEY] = httpRunner(b, load, 32, EMBED_MODEL, batches, 'base64');
  const nobatches = countBatches(embeddingHandle(app, NOBATCH_MODEL));
  runners[httpKey(32, false)] = httpRunner(b, load, 32, NOBATCH_MODEL, nobatches);
  return runners;
}

/** `width` HTTP clients of POST /v1/embeddings on `model`, one sentence per request. */
export function httpRunner(
  b: BenchApp,
  load: LoadProcess,
  width: number,
  model: string,
  counter: BatchCounter = countBatches(embeddingHandle(b.app, model)),
  format: 'float' | 'base64' = 'float',
): Runner {
  const job = {
    kind: 'embed' as const,
    url: `${b.base}/v1/embeddings`,
    authorization: b.authorization,
    bodies: SENTENCES.map((input) =>
      JSON.stringify(
        format === 'float' ? { model, input } : { model, input, encoding_format: format },
      ),
    ),
    width,
  };
  return (ms) =>
    measure(async () => {
      const { result, cpuUs } = await load.run({ ...job, ms });
      return { result, clientCpuUs: cpuUs };
    }, counter);
}

/** 32 in-process callers of `InferenceService.embed`, one sentence each: batcher, no HTTP. */
function serviceRunner(app: App, batches: BatchCounter): Runner {
  const ctx = { identity: 'bench', signal: new AbortController().signal };
  const width = 32;
  return (ms) =>
    measure(
      async () => ({
        result: await runClients(width, ms, async (c, i) => {
          const { vectors } = await app.inference.service.embed(
            EMBED_MODEL,
            slice(c + i * width, 1),
            ctx,
          );
          return { units: vectors.length };
        }),
      }),
      batches,
    );
}

/** The best in-process batched throughput (batch 8/16/32, one or `workers` calls in flight). */
export function bestDirectKey(
  perSec: (key: string) => number,
  workers: number,
): { key: string; perSec: number } {
  let best = { key: '', perSec: 0 };
  for (const s of BATCHED_SIZES) {
    for (const key of [directKey(s, workers), directKey(s, 1)]) {
      const v = perSec(key);
      if (v > best.perSec) best = { key, perSec: v };
    }
  }
  return best;
}

/** What identity B saw while identity A flooded the model (see {@link fairnessFigures}). */
export interface FairnessFigures {
  /** B's one-sentence latencies in ms, with the model to itself. */
  alone: number[];
  /** The same while A keeps 2,048-sentence requests in flight. */
  flooded: number[];
  /** B's requests refused (429) while flooded: the fair queue should make this 0. */
  refused: number;
  /** A's 2,048-sentence requests answered, refused (429: over A's share while one waits) and
   * timed out (504: past the model's `timeoutMs`, on a loaded machine). */
  bigDone: number;
  bigRefused: number;
  bigTimedOut: number;
}

/**
 * Fairness (issue 7): identity B sends `n` one-sentence requests one after the other through
 * `InferenceService.embed`, first alone, then while identity A keeps two 2,048-sentence
 * requests in flight (the second is over A's share of the queue while the first waits).
 */
export async function fairnessFigures(app: App, n = 20): Promise<FairnessFigures> {
  const service = app.inference.service;
  const signal = new AbortController().signal;
  const b = { identity: 'bench-b', signal };
  const oneLine = async (out: number[], i: number): Promise<boolean> => {
    const t0 = performance.now();
    try {
      await service.embed(EMBED_MODEL, slice(i, 1), b);
      out.push(performance.now() - t0);
      return true;
    } catch {
      return false;
    }
  };
  const alone: number[] = [];
  for (let i = 0; i < n; i++) await oneLine(alone, i);
  let flooding = true;
  const big = { done: 0, refused: 0, timedOut: 0 };
  const flood = async (c: number) => {
    for (let i = 0; flooding; i++) {
      try {
        await service.embed(EMBED_MODEL, slice((c + i) * 2048, 2048), {
          identity: 'bench-a',
          signal,
        });
        big.done++;
      } catch (err) {
        if (err instanceof DeadlineError) big.timedOut++;
        else big.refused++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const floods = [flood(0), flood(1)];
  await new Promise((r) => setTimeout(r, 200));
  const flooded: number[] = [];
  let refused = 0;
  for (let i = 0; i < n; i++) if (!(await oneLine(flooded, i))) refused++;
  flooding = false;
  await Promise.all(floods);
  return {
    alone,
    flooded,
    refused,
    bigDone: big.done,
    bigRefused: big.refused,
    bigTimedOut: big.timedOut,
  };
}
