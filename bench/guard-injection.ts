/**
 * @module bench/guard-injection — `npm run bench:guard-injection`: recall and false-positive rate
 * of the heuristic prompt-injection detector on the labelled corpus and on a held-out set, and its speed in ms per KB
 * on 1 KB and 16 KB prompts and on 1 MB adversarial prompts (plus 256 KB, to show linearity).
 * Not a test: nothing is asserted; the targets are printed beside the figures.
 *
 * Options: --runs N (7) timed runs per size (median printed), --threshold X (the default).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_INJECTION_THRESHOLD, scanInjection } from '../src/guard/injection/index.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, threshold: { type: 'string' } },
});
const runs = Number(values.runs);
const threshold =
  values.threshold === undefined ? DEFAULT_INJECTION_THRESHOLD : Number(values.threshold);

interface Line {
  readonly text: string;
  readonly label: 'injection' | 'benign';
}
const load = (name: string): Line[] =>
  readFileSync(new URL(`../test/fixtures/guard/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);

function evaluate(name: string, corpus: readonly Line[]): void {
  let tp = 0;
  let fn = 0;
  let fp = 0;
  let tn = 0;
  for (const { text, label } of corpus) {
    const hit = scanInjection(text).score >= threshold;
    if (label === 'injection') {
      if (hit) tp++;
      else fn++;
    } else if (hit) fp++;
    else tn++;
  }
  const recall = tp / (tp + fn);
  const fpr = fp / (fp + tn);
  console.log(
    `${name}: ${corpus.length} lines (${tp + fn} injection, ${fp + tn} benign), threshold ${threshold}`,
  );
  console.log(
    `  recall ${recall.toFixed(3)} (target ≥ 0.90)   false-positive rate ${(fpr * 100).toFixed(2)} % (target ≤ 2 %)`,
  );
}

// The main corpus was written alongside the rules (the tests hold it); the held-out lines were
// written afterwards and never tuned against, so they show how far paraphrases get.
evaluate('corpus', load('injection-corpus.jsonl'));
evaluate('held-out', load('injection-corpus.heldout.jsonl'));

const repeat = (unit: string, bytes: number): string =>
  unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
const prose =
  'Could you summarise the attached quarterly report for the board? Focus on revenue, churn and hiring. ' +
  'Les chiffres sont en euros\u00a0; 1\u202f234 clients. 東京の支店も含めてください。 Thanks! 👨\u200d👩\u200d👧 ';
const KB = 1024;
const MB = 1024 * KB;
const adversarial: [string, (n: number) => string][] = [
  ['keyword prefixes', (n) => repeat('ignore ignore previous previous prior ', n)],
  ['open chains', (n) => repeat('ignore all previous instruction ', n)],
  ['one long word', (n) => repeat('a', n)],
  ['base64-like run', (n) => repeat('QUFBQUFBQUFB', n)],
  ['hex run', (n) => repeat('41', n)],
  ['percent run', (n) => repeat('%41%', n)],
  ['zero-width run', (n) => repeat('\u200b', n)],
  ['tag run', (n) => repeat('\u{e0041}', n)],
  ['bidi openers', (n) => repeat('\u202ea', n)],
  ['template-ish', (n) => repeat('<|<|[[<system', n)],
  ['role lines', (n) => repeat('system:\n', n)],
  ['mixed', (n) => repeat('I g n o r e \u200b%4 QUJD <| ', n)],
];

// Each timed run repeats the scan enough times to last ~50 ms, so 1 KB figures are not noise.
function msPerKb(text: string): number {
  const reps = Math.max(1, Math.ceil((50 * KB) / text.length));
  for (let i = 0; i < reps; i++) scanInjection(text);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) scanInjection(text);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / reps);
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(times.length / 2)] ?? 0) / (text.length / KB);
}

console.log('\nspeed (median of runs, ms per KB; target ≤ 0.2, linear):');
console.log(`  prose  1 KB   ${msPerKb(repeat(prose, KB)).toFixed(4)}`);
console.log(`  prose 16 KB   ${msPerKb(repeat(prose, 16 * KB)).toFixed(4)}`);
console.log(`  prose  1 MB   ${msPerKb(repeat(prose, MB)).toFixed(4)}`);
let worst = 0;
for (const [name, make] of adversarial) {
  const small = msPerKb(make(256 * KB));
  const big = msPerKb(make(MB));
  worst = Math.max(worst, big);
  console.log(
    `  adversarial ${name.padEnd(18)} 256 KB ${small.toFixed(4)}   1 MB ${big.toFixed(4)}`,
  );
}
console.log(`  worst adversarial 1 MB: ${worst.toFixed(4)} ms/KB`);
