/**
 * @module bench/support/clients — closed-loop load: `width` clients each send one request after
 * another until the time is up, and every latency is kept. Shared by the in-process workloads and
 * the HTTP load process, so both are counted the same way.
 */

/** What one request produced. */
export interface Outcome {
  /** Units of work done: sentences embedded, or completion tokens generated. */
  units: number;
  /** Milliseconds from sending to the first streamed content, for streams. */
  ttftMs?: number;
  /** Content chunks streamed, for streams. */
  chunks?: number;
}

/** One run of `width` closed-loop clients. */
export interface LoopResult {
  /**
   * Units per second: the sum over clients of each client's units ÷ its own busy time (start to
   * its last response). A client never idles in between, so this has no start-up or drain bias
   * from clients that finish at different moments.
   */
  perSec: number;
  /** Requests per second, counted the same way. */
  reqPerSec: number;
  requests: number;
  units: number;
  /** Wall time from the start to the last response, ms. */
  elapsedMs: number;
  latenciesMs: number[];
  ttftsMs: number[];
  chunks: number;
}

/** Upper bound on requests per client in one run, whatever the time box says. */
export const MAX_REQUESTS_PER_CLIENT = 100_000;

/**
 * Runs `width` clients for `ms` milliseconds; client `c` calls `op(c, i)` for its i-th request.
 * A request in flight when the time is up is finished and counted.
 */
export async function runClients(
  width: number,
  ms: number,
  op: (client: number, i: number) => Promise<Outcome>,
): Promise<LoopResult> {
  const start = performance.now();
  const deadline = start + ms;
  const latenciesMs: number[] = [];
  const ttftsMs: number[] = [];
  let chunks = 0;
  const client = async (c: number) => {
    let units = 0;
    let requests = 0;
    let last = start;
    while (last < deadline && requests < MAX_REQUESTS_PER_CLIENT) {
      const sent = performance.now();
      const out = await op(c, requests);
      last = performance.now();
      latenciesMs.push(last - sent);
      if (out.ttftMs !== undefined) ttftsMs.push(out.ttftMs);
      chunks += out.chunks ?? 0;
      units += out.units;
      requests++;
    }
    return { units, requests, busyMs: last - start };
  };
  const per = await Promise.all(Array.from({ length: width }, (_, c) => client(c)));
  const sum = (f: (p: (typeof per)[number]) => number) => per.reduce((s, p) => s + f(p), 0);
  return {
    perSec: sum((p) => (p.units * 1000) / p.busyMs),
    reqPerSec: sum((p) => (p.requests * 1000) / p.busyMs),
    requests: sum((p) => p.requests),
    units: sum((p) => p.units),
    elapsedMs: performance.now() - start,
    latenciesMs,
    ttftsMs,
    chunks,
  };
}

/** The q-quantile (0..1) of `values` by nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
