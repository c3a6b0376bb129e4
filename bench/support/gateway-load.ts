/**
 * @module bench/support/gateway-load — the load process of `bench:gateway`, pinned to its own core
 * by `bench/gateway.ts`. node:http's client costs more CPU per request than a lean server does, so
 * a load client built on it measures itself; this one is as lean as autocannon: `width` raw
 * keep-alive TCP connections, each writing one pre-built request, reading the answer (status line
 * and `content-length`), and sending the next — closed loop, no pipelining. Every answer must be
 * a 200. Started over IPC: one `GatewayJob` in, one `GatewayReply` out.
 */
import { connect, type Socket } from 'node:net';

/** What the load process is asked to do. */
export interface GatewayJob {
  url: string;
  authorization: string;
  body: string;
  width: number;
  ms: number;
}

/** Requests per second over the run, requests made, and latency percentiles (ms). */
export type GatewayReply =
  { reqPerSec: number; requests: number; p50Ms: number; p99Ms: number } | { error: string };

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection sending `request` after each complete answer until `deadline`. */
function connection(
  port: number,
  request: Buffer,
  deadline: number,
  count: (ms: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = (): void => {
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        if (!head.startsWith('HTTP/1.1 200')) {
          socket.destroy();
          reject(
            new Error(
              `answered ${head.split('\r\n', 1)[0] ?? ''}: ${buf.toString('utf8', end, end + 200)}`,
            ),
          );
          return;
        }
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (m === null) {
          socket.destroy();
          reject(new Error('answer without content-length'));
          return;
        }
        const total = end + 4 + Number(m[1]);
        if (buf.length < total) return;
        buf = buf.subarray(total);
        const now = performance.now();
        count(now - sentAt);
        if (now >= deadline) {
          socket.end();
          resolve();
          return;
        }
        send();
      }
    });
    socket.on('error', reject);
  });
}

async function run(job: GatewayJob): Promise<GatewayReply> {
  const url = new URL(job.url);
  const request = Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: ${job.authorization}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(job.body)}\r\n\r\n${job.body}`,
  );
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: job.width }, () =>
      connection(Number(url.port), request, start + job.ms, (ms) => latencies.push(ms)),
    ),
  );
  const requests = latencies.length;
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number): number => sorted[Math.min(requests - 1, Math.floor(q * requests))] ?? 0;
  return {
    reqPerSec: (requests * 1000) / (performance.now() - start),
    requests,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

if (process.send === undefined) throw new Error('gateway-load must be started with an IPC channel');
process.on('message', (job: GatewayJob) => {
  run(job).then(
    (r) => process.send?.(r),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => {
  process.exit(0);
});
