/**
 * @module bench/guard-micro — per-call cost of the PII scan and the injection heuristics on the
 * short prompts that dominate gateway traffic (10 characters to 1 KB), plus 16 KB, in µs per
 * call: what the guards add to a request on the hot path. Batched timing (each run repeats the
 * call for ~40 ms), median of runs, warm. Not a test: nothing is asserted.
 *
 * Usage: node --import tsx bench/guard-micro.ts [--runs N] (default 9).
 */
import { parseArgs } from 'node:util';
import { scanInjection } from '../src/guard/injection/index.js';
import { createScanner } from '../src/guard/scan.js';
import { printTable } from './support/table.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
const runs = Number(args.runs);

const CHAT =
  'Hi team, could you summarise the attached quarterly report for the board meeting on ' +
  'Thursday? Focus on revenue, churn and hiring in the EMEA region. The numbers are in euros ' +
  '(1 234 clients, up 12 % on last year). Please keep it under 300 words and friendly. Thanks! ';
const MIXED =
  'Les chiffres sont en euros\u00a0; 1\u202f234 clients. 東京の支店も含めてください。 ' +
  'Merci beaucoup, à bientôt ! 👨\u200d👩\u200d👧 ';

const fill = (unit: string, n: number): string =>
  unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

const inputs: [string, string][] = [
  ['10 chars', 'Hi there!!'],
  ['bench gateway prompt', 'Hello! How are you today?'],
  ['~30 chars', 'Can you explain closures in JS?'],
  ['~120 chars', CHAT.slice(0, 120)],
  ['~120 chars, non-ASCII', fill(MIXED, 120)],
  ['960 chars', fill(CHAT, 960)],
  ['1 KB', fill(CHAT, 1024)],
  ['16 KB', fill(CHAT + MIXED, 16 * 1024)],
];

const scanner = createScanner();

/** Median µs per call of `fn(text)`. */
function perCall(fn: (text: string) => unknown, text: string): number {
  const calibrate = performance.now();
  let reps = 0;
  while (performance.now() - calibrate < 40) {
    fn(text);
    reps++;
  }
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn(text);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / reps);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const rows = inputs.map(([name, text]) => {
  const pii = perCall((t) => scanner.scan(t), text);
  const inj = perCall((t) => scanInjection(t), text);
  const kb = text.length / 1024;
  return [
    name,
    String(text.length),
    pii.toFixed(2),
    inj.toFixed(2),
    (pii + inj).toFixed(2),
    (pii / 1000 / kb).toFixed(4),
    (inj / 1000 / kb).toFixed(4),
  ];
});
printTable(
  `guard cost per call (median of ${String(runs)} runs, warm; targets: ≤ 2.5 µs at ~30 chars, ≤ 8 µs at ~120)`,
  [
    { title: 'input' },
    { title: 'chars', right: true },
    { title: 'scan µs', right: true },
    { title: 'injection µs', right: true },
    { title: 'both µs', right: true },
    { title: 'scan ms/KB', right: true },
    { title: 'injection ms/KB', right: true },
  ],
  rows,
);
