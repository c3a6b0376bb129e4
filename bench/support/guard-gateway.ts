/**
 * @module bench/support/guard-gateway — the gateway section of `bench:guard`: Gatehouse with
 * every guard on and with every guard off (guard-gateway-server.ts), each pinned to core 0 in
 * turn, answering `POST /v1/chat/completions` on the echo model from the keep-alive load client
 * on core 1 (gateway-procs.ts). Rounds alternate the two servers so that a noisy neighbour hits
 * both alike; figures are medians of rounds.
 */
import { startLoad, startScript } from './gateway-procs.js';
import { median } from './measure.js';

/** Issue 9: throughput with every guard on at least this share of guards off. */
export const GATEWAY_TARGET = 0.9;

/** Options of one gateway comparison. */
export interface GatewayOptions {
  readonly rounds: number;
  readonly ms: number;
  readonly warmupMs: number;
  readonly connections: number;
  /** The user message sent in every request. */
  readonly prompt: string;
}

/** Median figures of one server. */
export interface GatewayFigures {
  readonly reqPerSec: number;
  readonly cpuUsPerReq: number;
  readonly p99Ms: number;
}

/** Medians of guards on and off, and on/off throughput. */
export interface GatewayComparison {
  readonly on: GatewayFigures;
  readonly off: GatewayFigures;
  readonly ratio: number;
}

/** Runs the comparison (see the module notes). */
export async function compareGuardsOnOff(o: GatewayOptions): Promise<GatewayComparison> {
  const body = JSON.stringify({
    model: 'echo',
    messages: [{ role: 'user', content: o.prompt }],
    max_tokens: 16,
  });
  const start = async (mode: 'on' | 'off') =>
    startScript('./guard-gateway-server.ts', [mode], 0).catch((e: unknown) => {
      throw new Error(
        `the guards-${mode} server did not start (its error is above; does config accept guard.enabled?)`,
        { cause: e },
      );
    });
  const on = await start('on');
  const off = await start('off').catch(async (e: unknown) => {
    await on.close();
    throw e;
  });
  const servers = [
    { mode: 'on', proc: on },
    { mode: 'off', proc: off },
  ] as const;
  const load = startLoad(1);
  const samples = { on: [] as GatewayFigures[], off: [] as GatewayFigures[] };
  try {
    const job = (base: string, authorization: string, ms: number) => ({
      url: `${base}/v1/chat/completions`,
      authorization,
      body,
      width: o.connections,
      ms,
    });
    for (const { proc } of servers) await load.run(job(proc.base, proc.authorization, o.warmupMs));
    for (let r = 0; r < o.rounds; r++) {
      for (const { mode, proc } of servers) {
        const cpu0 = await proc.cpuUs();
        const reply = await load.run(job(proc.base, proc.authorization, o.ms));
        const cpu1 = await proc.cpuUs();
        samples[mode].push({
          reqPerSec: reply.reqPerSec,
          cpuUsPerReq: (cpu1 - cpu0) / reply.requests,
          p99Ms: reply.p99Ms,
        });
      }
      process.stderr.write(`gateway round ${String(r + 1)}/${String(o.rounds)} done\n`);
    }
  } finally {
    for (const { proc } of servers) await proc.close();
    await load.close();
  }
  const summary = (s: readonly GatewayFigures[]): GatewayFigures => ({
    reqPerSec: median(s.map((x) => x.reqPerSec)),
    cpuUsPerReq: median(s.map((x) => x.cpuUsPerReq)),
    p99Ms: median(s.map((x) => x.p99Ms)),
  });
  const figures = { on: summary(samples.on), off: summary(samples.off) };
  return { ...figures, ratio: figures.on.reqPerSec / figures.off.reqPerSec };
}
