/**
 * @module bench/support/receipts-http — receipts in a real HTTP server: a node:http server whose
 * handler spends `requestUs` of main-thread CPU (standing in for the pipeline of an echo request)
 * and then answers with a `Gatehouse-Receipt` header, loaded over loopback by the separate load
 * process with `width` keep-alive connections. Receipts then arrive as responses finish, not all
 * at once, which is what decides how many share a signature.
 */
import { createServer, type Server } from 'node:http';
import type { ReceiptSigner } from '../../src/audit/receipts-signer.js';
import type { ReceiptSubject } from '../../src/audit/receipts.js';
import { median } from './measure.js';
import { startLoadProcess } from './http-load.js';
import { printTable, ratio } from './table.js';

/** One server variant's run. */
export interface HttpFigure {
  reqPerSec: number;
  /** Server process CPU (all threads) per request, µs. */
  cpuUs: number;
  p99Ms: number;
  /** Mean receipts per signature (0 without receipts). */
  perSignature: number;
}

const ANSWER = JSON.stringify({ object: 'list', data: [{ object: 'embedding', embedding: [0] }] });

/** Iterations of `work` per µs, measured once (a fixed amount of work, not of wall time). */
let perUs = 0;
let sink = 0;
function work(n: number): void {
  let x = sink;
  for (let i = 0; i < n; i++) x = (x * 1103515245 + 12345) % 2147483648;
  sink = x;
}
function spin(us: number): void {
  if (perUs === 0) {
    const t = performance.now();
    work(5_000_000);
    perUs = 5_000_000 / ((performance.now() - t) * 1000);
  }
  // The stand-in for JWT, policy, model and serialisation work.
  work(Math.round(us * perUs));
}

async function serve(
  signer: ReceiptSigner | null,
  requestUs: number,
  subject: () => ReceiptSubject,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      spin(requestUs);
      const answer = (receipt?: string) => {
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(receipt === undefined ? {} : { 'gatehouse-receipt': receipt }),
        });
        res.end(ANSWER);
      };
      if (signer === null) answer();
      else signer.sign(subject()).then(answer, () => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { server, url: `http://127.0.0.1:${String(typeof a === 'object' && a ? a.port : 0)}/` };
}

/** Runs each variant for `ms`, `runs` interleaved rounds; returns each variant's runs. */
export async function httpRounds(
  variants: readonly { name: string; signer: ReceiptSigner | null }[],
  o: { requestUs: number; width: number; ms: number; runs: number },
  subject: () => ReceiptSubject,
  progress: (text: string) => void,
): Promise<Map<string, HttpFigure[]>> {
  const load = startLoadProcess();
  const out = new Map<string, HttpFigure[]>(variants.map((v) => [v.name, []]));
  try {
    for (let r = 0; r <= o.runs; r++) {
      progress(r === 0 ? 'http: warming up' : `http: round ${String(r)} of ${String(o.runs)}`);
      for (const v of variants) {
        const { server, url } = await serve(v.signer, o.requestUs, subject);
        const before = v.signer?.stats() ?? { receipts: 0, signatures: 0 };
        const cpu = process.cpuUsage();
        const job = { kind: 'embed' as const, url, authorization: 'Bearer x', bodies: ['{}'] };
        const { result } = await load.run({ ...job, width: o.width, ms: r === 0 ? 300 : o.ms });
        const used = process.cpuUsage(cpu);
        const after = v.signer?.stats() ?? { receipts: 0, signatures: 0 };
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        if (r === 0) continue;
        const lat = [...result.latenciesMs].sort((x, y) => x - y);
        out.get(v.name)?.push({
          reqPerSec: result.reqPerSec,
          cpuUs: (used.user + used.system) / result.requests,
          p99Ms: lat[Math.floor(lat.length * 0.99)] ?? 0,
          perSignature:
            after.signatures === before.signatures
              ? 0
              : (after.receipts - before.receipts) / (after.signatures - before.signatures),
        });
      }
    }
  } finally {
    await load.close();
  }
  return out;
}

/**
 * A signer that hands out a fixed receipt one event-loop turn later: what carrying a receipt's
 * header costs, apart from making it.
 */
export function turnLater(receipt: string): ReceiptSigner {
  return {
    mode: 'batch',
    sign: () =>
      new Promise((resolve) => {
        setImmediate(resolve, receipt);
      }),
    close: () => Promise.resolve(),
    stats: () => ({ receipts: 0, signatures: 0 }),
  };
}

/** The table of `httpRounds`' medians, each against the first variant. */
export function printHttp(
  title: string,
  variants: readonly { name: string; signer: ReceiptSigner | null }[],
  figs: Map<string, HttpFigure[]>,
): void {
  const m = (name: string, f: (x: HttpFigure) => number) => median((figs.get(name) ?? []).map(f));
  const first = variants[0]?.name ?? '';
  const base = m(first, (x) => x.reqPerSec);
  const baseCpu = m(first, (x) => x.cpuUs);
  printTable(
    title,
    [
      { title: 'server' },
      { title: 'req/s', right: true },
      { title: 'vs none', right: true },
      { title: 'server CPU µs/req', right: true },
      { title: '+µs', right: true },
      { title: 'p99 ms', right: true },
      { title: 'receipts/signature', right: true },
    ],
    variants.map((v) => {
      const per = m(v.name, (x) => x.perSignature);
      return [
        v.name,
        Math.round(m(v.name, (x) => x.reqPerSec)).toLocaleString('en-US'),
        ratio(m(v.name, (x) => x.reqPerSec) / base),
        m(v.name, (x) => x.cpuUs).toFixed(1),
        (m(v.name, (x) => x.cpuUs) - baseCpu).toFixed(1),
        m(v.name, (x) => x.p99Ms).toFixed(2),
        per === 0 ? '' : per.toFixed(1),
      ];
    }),
  );
}
