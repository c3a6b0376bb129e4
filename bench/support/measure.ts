/**
 * @module bench/support/measure — time-boxed throughput sampling: a workload runs in batches until
 * its time is up, and repeated runs are interleaved across workloads (so a noisy neighbour on a
 * shared machine hits every workload alike) and summarised by their median.
 */

/** A batch of work that performs `perBatch` operations each time `batch` resolves. */
export interface Workload {
  readonly batch: () => Promise<unknown>;
  readonly perBatch: number;
}

/** How long and how often each workload runs. */
export interface Schedule {
  runs: number;
  /** Length of one measured run, in milliseconds (a run always finishes its last batch). */
  ms: number;
  warmupMs: number;
}

/** What one run (or the median of several) found. */
export interface Figure {
  /** Operations per second of wall-clock time. */
  perSec: number;
  /**
   * Process CPU time (user + system, every thread: main, libuv pool, GC) per operation, in µs.
   * Less disturbed by other load than wall time, and `perSec × cpuUs / 1e6` is the number of
   * cores the workload kept busy.
   */
  cpuUs: number;
}

/** Runs `w` for at least `ms` milliseconds. */
export async function rate(w: Workload, ms: number): Promise<Figure> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let ops = 0;
  let now = start;
  do {
    await w.batch();
    ops += w.perBatch;
    now = performance.now();
  } while (now - start < ms);
  const used = process.cpuUsage(cpu);
  return { perSec: (ops * 1000) / (now - start), cpuUs: (used.user + used.system) / ops };
}

/** `op` awaited `n` times in a row: one operation in flight at a time. */
export function sequential(n: number, op: () => Promise<unknown>): Workload {
  return {
    perBatch: n,
    batch: async () => {
      for (let i = 0; i < n; i++) await op();
    },
  };
}

/** `n` calls of a synchronous `op` per batch (one microtask per batch, not per call). */
export function synchronous(n: number, op: () => unknown): Workload {
  return {
    perBatch: n,
    batch: () => {
      for (let i = 0; i < n; i++) op();
      return Promise.resolve();
    },
  };
}

/** `width` calls of `op` started together and awaited with Promise.all. */
export function concurrent(width: number, op: () => Promise<unknown>): Workload {
  return {
    perBatch: width,
    batch: () => Promise.all(Array.from({ length: width }, op)),
  };
}

/**
 * One warm-up run of each workload, then `s.runs` rounds in which every workload runs once, in
 * order (so a noisy neighbour hits them alike): each key's samples, in round order.
 */
export async function rounds<K extends string, W, S>(
  entries: readonly (readonly [K, W])[],
  run: (workload: W, ms: number) => Promise<S>,
  s: Schedule,
  progress: (text: string) => void = () => undefined,
): Promise<Map<K, S[]>> {
  progress('warming up');
  for (const [, w] of entries) await run(w, s.warmupMs);
  const samples = new Map<K, S[]>(entries.map(([k]) => [k, []]));
  for (let r = 0; r < s.runs; r++) {
    progress(`round ${r + 1} of ${s.runs}`);
    for (const [k, w] of entries) samples.get(k)?.push(await run(w, s.ms));
  }
  return samples;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? Number.NaN) + hi) / 2;
}

/**
 * The median figures of each workload: one warm-up run each, then `runs` rounds in which every
 * workload runs once, in order. Throughput and CPU time are medians taken separately.
 */
export async function medians<K extends string>(
  workloads: Readonly<Record<K, Workload>>,
  s: Schedule,
): Promise<Record<K, Figure>> {
  const entries = Object.entries(workloads) as [K, Workload][];
  const samples = await rounds(entries, rate, s);
  const summary = (figs: readonly Figure[]): Figure => ({
    perSec: median(figs.map((f) => f.perSec)),
    cpuUs: median(figs.map((f) => f.cpuUs)),
  });
  return Object.fromEntries(entries.map(([k]) => [k, summary(samples.get(k) ?? [])])) as Record<
    K,
    Figure
  >;
}
