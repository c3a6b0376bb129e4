/**
 * @module bench/support/profile-run — `bench:inference --profile embed|llama`: one HTTP workload
 * (embeddings with 32 clients, or one streamed chat client) run long enough to profile, with the
 * measured window written next to the profiles so `bench/cpu-profile.ts` can leave out start-up
 * and shutdown. Run it under `node --cpu-prof --cpu-prof-dir=DIR --import tsx`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBED_MODEL, httpRunner } from './embed-bench.js';
import type { LoadProcess } from './http-load.js';
import type { BenchApp } from './inference-app.js';
import { apiKey, apiLlamaRunners } from './llama-bench.js';

/** What can be profiled. */
export type ProfileTarget = 'embed' | 'llama';

/** Runs the workload for `ms` after a one-second warm-up and prints its figures. */
export async function profileRun(
  bench: BenchApp,
  loader: LoadProcess,
  target: ProfileTarget,
  ms: number,
  maxTokens: number,
): Promise<void> {
  const runner =
    target === 'embed'
      ? httpRunner(bench, loader, 32, EMBED_MODEL)
      : apiLlamaRunners(bench, loader, maxTokens)[apiKey(1)];
  if (runner === undefined) throw new Error(`nothing to profile for ${target}`);
  await runner(1000);
  const fromUs = process.hrtime.bigint() / 1000n;
  const s = await runner(ms);
  const window = { fromUs: Number(fromUs), toUs: Number(process.hrtime.bigint() / 1000n) };
  // V8 stamps profile samples with the same monotonic clock (CLOCK_MONOTONIC), in µs.
  const dir = process.execArgv.find((a) => a.startsWith('--cpu-prof-dir='))?.slice(15);
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'window.json'), JSON.stringify(window));
  } else {
    console.log(`measured window (monotonic µs): ${window.fromUs}–${window.toUs}`);
  }
  const unit = target === 'embed' ? 'sentences' : 'tokens';
  console.log(
    `${target === 'embed' ? 'HTTP embeddings ×32' : 'streamed chat ×1'}: ` +
      `${s.perSec.toFixed(1)} ${unit}/s, p50 ${s.p50Ms.toFixed(1)} ms, server ${s.cores.toFixed(2)} ` +
      `cores (main thread ${s.mainCores.toFixed(2)}), client ${s.clientCores.toFixed(2)} cores, ` +
      `others ${s.otherCores.toFixed(2)} cores` +
      (target === 'embed' ? `, mean batch ${s.meanBatch.toFixed(1)}` : ''),
  );
}
