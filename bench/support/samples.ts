/**
 * @module bench/support/samples — one closed-loop run turned into a `Sample` (throughput,
 * latency, and where the CPU went: this process, its main thread, the load process), and repeated
 * runs interleaved across workloads and summarised by their median, key by key.
 */
import { quantile, type LoopResult } from './clients.js';
import { machineBusyMs, mainThreadCpuMs } from './machine.js';
import { median, rounds, type Schedule } from './measure.js';

/** Every figure a run reports; NaN where it does not apply. */
export const SAMPLE_KEYS = [
  'perSec',
  'reqPerSec',
  'p50Ms',
  'p99Ms',
  'ttftMs',
  'cores',
  'mainCores',
  'mainBusy',
  'clientCores',
  'otherCores',
  'meanBatch',
  'workerBusy',
  'chunksPerToken',
] as const;

/**
 * One run's figures. `perSec`: units (sentences, tokens) per second; `ttftMs`: p50 time to first
 * streamed content; `cores`: CPU time of this process (main thread, model workers, llama.cpp,
 * GC) ÷ wall time; `mainCores`: the main thread's own CPU time ÷ wall time (HTTP, auth, routes,
 * batcher; llama.cpp's JS side); `mainBusy`: share of wall time the main thread's event loop was
 * busy (CPU or waiting for one);
 * `clientCores`: the load process's CPU ÷ wall time; `otherCores`: the rest of the machine's busy
 * CPU ÷ wall time (other processes, other tenants of a shared VM); `meanBatch`: inputs per model
 * call; `workerBusy`: time with a model call outstanding ÷ (wall time × workers).
 */
export type Sample = Record<(typeof SAMPLE_KEYS)[number], number>;

/** Runs one workload for about `ms` milliseconds. */
export type Runner = (ms: number) => Promise<Sample>;

/** Counts the model calls an embedding handle receives (see `countBatches`). */
export interface BatchCounter {
  calls: number;
  inputs: number;
  /** Sum of the calls' durations, ms. */
  busyMs: number;
  /** Calls the handle can run at once (its worker threads). */
  readonly workers: number;
}

/**
 * Measures `run` (which returns a closed-loop result and, for HTTP, the load process's CPU
 * time): this process's CPU time, the main thread's event-loop utilisation and, given a
 * counter, the mean batch the model saw.
 */
export async function measure(
  run: () => Promise<{ result: LoopResult; clientCpuUs?: number }>,
  batches?: BatchCounter,
): Promise<Sample> {
  const calls = batches?.calls ?? 0;
  const inputs = batches?.inputs ?? 0;
  const modelMs = batches?.busyMs ?? 0;
  const elu = performance.eventLoopUtilization();
  const machine = machineBusyMs();
  const main = mainThreadCpuMs();
  const cpu = process.cpuUsage();
  const { result: r, clientCpuUs } = await run();
  const used = process.cpuUsage(cpu);
  const machineMs = machineBusyMs() - machine;
  const mainMs = mainThreadCpuMs() - main;
  const busy = performance.eventLoopUtilization(elu);
  const wallUs = r.elapsedMs * 1000;
  const made = (batches?.calls ?? 0) - calls;
  const cores = (used.user + used.system) / wallUs;
  const clientCores = clientCpuUs === undefined ? Number.NaN : clientCpuUs / wallUs;
  return {
    perSec: r.perSec,
    reqPerSec: r.reqPerSec,
    p50Ms: quantile(r.latenciesMs, 0.5),
    p99Ms: quantile(r.latenciesMs, 0.99),
    ttftMs: quantile(r.ttftsMs, 0.5),
    cores,
    mainCores: (mainMs * 1000) / wallUs,
    mainBusy: busy.utilization,
    clientCores,
    otherCores: Math.max(
      0,
      (machineMs * 1000) / wallUs - cores - (Number.isNaN(clientCores) ? 0 : clientCores),
    ),
    meanBatch: made > 0 ? ((batches?.inputs ?? 0) - inputs) / made : Number.NaN,
    workerBusy:
      batches === undefined
        ? Number.NaN
        : ((batches.busyMs - modelMs) * 1000) / (wallUs * batches.workers),
    chunksPerToken: r.chunks > 0 ? r.chunks / r.units : Number.NaN,
  };
}

/** The median of each key over a workload's runs, and the runs themselves. */
export interface Summary {
  median: Sample;
  runs: Sample[];
}

/** (max − min) ÷ median of the throughput over the runs: how much the runs disagreed. */
export function spread(s: Summary): number {
  const v = s.runs.map((r) => r.perSec);
  return (Math.max(...v) - Math.min(...v)) / s.median.perSec;
}

/**
 * One warm-up run of each workload, then `runs` rounds in which every workload runs once, in
 * order (so a noisy neighbour hits them alike); each key summarised by its median.
 */
export async function interleave<K extends string>(
  runners: Readonly<Record<K, Runner>>,
  s: Schedule,
  progress: (text: string) => void = () => undefined,
): Promise<Record<K, Summary>> {
  const entries = Object.entries(runners) as [K, Runner][];
  const samples = await rounds(entries, (run, ms) => run(ms), s, progress);
  const summary = (runs: Sample[]): Summary => {
    const med = Object.fromEntries(
      SAMPLE_KEYS.map((key) => [key, median(runs.map((x) => x[key]))]),
    ) as Sample;
    return { median: med, runs };
  };
  return Object.fromEntries(entries.map(([k]) => [k, summary(samples.get(k) ?? [])])) as Record<
    K,
    Summary
  >;
}
