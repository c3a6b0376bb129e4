/**
 * @module bench/guard-pii — `npm run bench:guard-pii`: quality and speed of the PII/secret
 * detectors. Quality: precision and recall per type and overall on
 * test/fixtures/guard/pii-corpus.jsonl (a finding counts as a true positive only when type and
 * span match a label exactly). Speed: ms per KB of a full scan (every built-in detector) over a
 * 1 KB and a 16 KB realistic prompt and a 1 MB adversarial prompt (per-detector worst cases
 * interleaved), median of runs. Not a test: nothing is asserted.
 *
 * Options: --runs N (15), --json (machine-readable output).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createScanner } from '../src/guard/scan.js';
import { adversarialInputs } from '../test/fixtures/guard/pii-corpus.adversarial.js';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } },
});
const runs = Number(args.runs);

interface Line {
  text: string;
  findings: { type: string; start: number; end: number }[];
}
const corpus = readFileSync(
  new URL('../test/fixtures/guard/pii-corpus.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Line);

const scanner = createScanner();
const stats = new Map<string, { tp: number; fp: number; fn: number }>();
const stat = (t: string): { tp: number; fp: number; fn: number } => {
  let s = stats.get(t);
  if (s === undefined) stats.set(t, (s = { tp: 0, fp: 0, fn: 0 }));
  return s;
};
for (const line of corpus) {
  const want = new Set(line.findings.map((f) => `${f.type}:${String(f.start)}:${String(f.end)}`));
  const got = new Set(
    scanner.scan(line.text).map((f) => `${f.type}:${String(f.start)}:${String(f.end)}`),
  );
  for (const g of got) stat(g.split(':')[0] ?? '')[want.has(g) ? 'tp' : 'fp']++;
  for (const w of want) if (!got.has(w)) stat(w.split(':')[0] ?? '').fn++;
}
const ratio = (a: number, b: number): number => (b === 0 ? 1 : a / b);
const quality = [...stats.entries()].sort().map(([type, s]) => ({
  type,
  labelled: s.tp + s.fn,
  precision: ratio(s.tp, s.tp + s.fp),
  recall: ratio(s.tp, s.tp + s.fn),
}));
const all = [...stats.values()].reduce(
  (a, s) => ({ tp: a.tp + s.tp, fp: a.fp + s.fp, fn: a.fn + s.fn }),
  { tp: 0, fp: 0, fn: 0 },
);
quality.push({
  type: 'ALL',
  labelled: all.tp + all.fn,
  precision: ratio(all.tp, all.tp + all.fp),
  recall: ratio(all.tp, all.tp + all.fn),
});

function prompt(size: number): string {
  // realistic mix: corpus lines (PII and negatives) joined as one chat/log prompt
  let s = '';
  for (let i = 0; s.length < size; i++) s += (corpus[(i * 7) % corpus.length]?.text ?? '') + '\n';
  return s.slice(0, size);
}
function adversarial(size: number): string {
  const parts = [...adversarialInputs(Math.ceil(size / 40)).values()].flat();
  let s = '';
  for (let i = 0; s.length < size; i++) s += (parts[i % parts.length] ?? '') + '\n';
  return s.slice(0, size);
}
function msPerKb(text: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t = performance.now();
    scanner.scan(text);
    if (i >= 3) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(times.length / 2)] ?? 0) / (text.length / 1024);
}
const speed = [
  { input: '1 KB prompt', msPerKb: msPerKb(prompt(1024)) },
  { input: '16 KB prompt', msPerKb: msPerKb(prompt(16 * 1024)) },
  { input: '1 MB adversarial', msPerKb: msPerKb(adversarial(1024 * 1024)) },
];

if (args.json) {
  console.log(JSON.stringify({ lines: corpus.length, quality, speed }, null, 2));
} else {
  console.log(
    `corpus: ${String(corpus.length)} lines (targets: recall >= 0.98 at precision >= 0.95)`,
  );
  console.log('type          labelled  precision  recall');
  for (const q of quality)
    console.log(
      `${q.type.padEnd(14)}${String(q.labelled).padStart(8)}  ${q.precision.toFixed(3).padStart(9)}  ${q.recall.toFixed(3).padStart(6)}`,
    );
  console.log('\nspeed (all detectors, median of runs; target <= 0.2 ms/KB)');
  for (const s of speed) console.log(`${s.input.padEnd(18)} ${s.msPerKb.toFixed(4)} ms/KB`);
}
