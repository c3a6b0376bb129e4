/**
 * @module bench/cpu-profile — summarises the `.cpuprofile` files that `node --cpu-prof` wrote (one
 * per thread and process): for each, where the sampled time went by area (model, tokenizer, HTTP
 * framework, Node's HTTP stack, auth, Gatehouse's own code, JSON, GC, idle), and the top functions
 * by self and by inclusive time. Samples are wall-clock: a thread the OS has descheduled still
 * counts as busy in the function it was in.
 *
 * Usage: node --import tsx bench/cpu-profile.ts DIR [--top N]. When DIR holds the `window.json`
 * that `bench/inference.ts --profile` writes, only samples inside the measured window count.
 * (e.g. after `node --cpu-prof --cpu-prof-dir=/tmp/gatehouse-prof --import tsx bench/inference.ts --profile`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { printTable } from './support/table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Areas, tried in order; the first whose test matches a frame names it. */
const AREAS: readonly [string, (url: string, fn: string) => boolean][] = [
  ['idle', (_u, f) => f === '(idle)'],
  ['GC', (_u, f) => f === '(garbage collector)'],
  ['V8/native (unattributed)', (_u, f) => f === '(program)' || f === '(root)'],
  [
    'USE tokenizer (SentencePiece)',
    (u) => u.includes('tfjs-tokenizer') || u.includes('@energetic-ai/embeddings'),
  ],
  ['model: tfjs / WASM', (u) => u.startsWith('wasm://') || /@energetic-ai|@tensorflow/.test(u)],
  ['model: node-llama-cpp', (u) => u.includes('node-llama-cpp')],
  ['client: undici (fetch)', (u) => u.includes('internal/deps/undici')],
  ['auth (src/auth, jose)', (u) => u.includes('/src/auth/') || u.includes('/jose/')],
  ['Gatehouse http (routes, SSE)', (u) => u.includes('/src/http/')],
  ['Gatehouse inference (batcher, pool, tokenizer)', (u) => u.includes('/src/inference/')],
  [
    'Fastify and plugins',
    (u) =>
      /node_modules\/(fastify|@fastify|avvio|find-my-way|light-my-request|fast-json-stringify|secure-json-parse|ajv|pino|abstract-logging|fast-querystring|toad-cache|process-warning)\//.test(
        u,
      ),
  ],
  [
    'Node http/net/streams',
    (u) => /^node:(_http|http|net|internal\/(http|streams|stream_base|net|js_stream))/.test(u),
  ],
  ['Node worker messaging', (u) => /^node:internal\/(worker|per_context\/messageport)/.test(u)],
  [
    'Node timers/promises/events',
    (u) =>
      /^node:(internal\/(timers|process\/task_queues|event_target|abort_controller)|events|timers)/.test(
        u,
      ),
  ],
  ['JSON (builtin)', (_u, f) => f === 'stringify' || f === 'parse'],
  ['tsx loader', (u) => u.includes('/tsx/')],
  ['bench harness', (u) => u.includes('/bench/')],
];

function areaOf(url: string, fn: string): string {
  for (const [name, test] of AREAS) if (test(url, fn)) return name;
  return url.startsWith('node:') ? 'Node (other)' : 'other JS';
}

const short = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
};

/** A span of the monotonic clock profiles are stamped with, µs. */
interface Window {
  fromUs: number;
  toUs: number;
}

/** Self and inclusive time per area and per function, ms, over `w` (or the whole profile). */
function analyse(p: Profile, w: Window | undefined) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfArea = new Map<string, number>();
  const selfFn = new Map<string, number>();
  const inclFn = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, ms: number) => m.set(k, (m.get(k) ?? 0) + ms);
  const from = Math.max(p.startTime, w?.fromUs ?? p.startTime);
  const to = Math.min(p.endTime, w?.toUs ?? p.endTime);
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const delta = p.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const ms = delta / 1000;
    const leaf = byId.get(id);
    if (leaf === undefined) return;
    add(selfArea, areaOf(leaf.callFrame.url, leaf.callFrame.functionName), ms);
    add(selfFn, short(leaf), ms);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n !== undefined;) {
      const k = short(n);
      if (!seen.has(k) && !k.startsWith('(')) {
        seen.add(k);
        add(inclFn, k, ms);
      }
      const up = parent.get(n.id);
      n = up === undefined ? undefined : byId.get(up);
    }
  });
  return { selfArea, selfFn, inclFn, wallMs: Math.max(0, to - from) / 1000 };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '12' } },
});
const dir = positionals[0];
if (dir === undefined) throw new Error('usage: bench/cpu-profile.ts DIR [--top N]');
const top = Number(values.top);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort();
if (files.length === 0) throw new Error(`no .cpuprofile files in ${dir}`);

const windowFile = join(dir, 'window.json');
const window = existsSync(windowFile)
  ? (JSON.parse(readFileSync(windowFile, 'utf8')) as Window)
  : undefined;
console.log(
  window === undefined
    ? 'no window.json: whole profiles, start-up and shutdown included'
    : `only samples inside the measured window (${((window.toUs - window.fromUs) / 1e6).toFixed(1)} s, window.json)`,
);

for (const file of files) {
  const a = analyse(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile, window);
  if (a.wallMs === 0) {
    console.log(`\n=== ${file}: no samples inside the window`);
    continue;
  }
  const busy = a.wallMs - (a.selfArea.get('idle') ?? 0);
  const sorted = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]);
  const share = (ms: number) => `${((100 * ms) / a.wallMs).toFixed(1)}%`;
  const [, pid, tid] = /\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(file) ?? [];
  console.log(
    `\n=== ${file} (pid ${pid ?? '?'}, thread ${tid ?? '?'}): ${(a.wallMs / 1000).toFixed(1)} s profiled, ` +
      `${(busy / 1000).toFixed(1)} s busy (${share(busy)})`,
  );
  printTable(
    'self time by area',
    [{ title: 'area' }, { title: 'ms', right: true }, { title: '% of wall', right: true }],
    sorted(a.selfArea).map(([k, ms]) => [k, ms.toFixed(0), share(ms)]),
  );
  printTable(
    `top ${top} functions, self time`,
    [{ title: 'function' }, { title: 'ms', right: true }, { title: '% of wall', right: true }],
    sorted(a.selfFn)
      .filter(([k]) => k !== '(idle) ')
      .slice(0, top)
      .map(([k, ms]) => [k.slice(0, 110), ms.toFixed(0), share(ms)]),
  );
  printTable(
    `top ${top} functions, inclusive time (self + callees)`,
    [{ title: 'function' }, { title: 'ms', right: true }, { title: '% of wall', right: true }],
    sorted(a.inclFn)
      .slice(0, top)
      .map(([k, ms]) => [k.slice(0, 110), ms.toFixed(0), share(ms)]),
  );
}
