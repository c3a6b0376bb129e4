/**
 * @module bench/guard-injection — `npm run bench:guard-injection`: the heuristic part of
 * `bench:guard`'s prompt-injection figures on its own, without loading the classifier: recall
 * and false-positive rate of scanInjection on the corpus and the held-out sets, and its ms per
 * KB on prose and on adversarial prompts at 256 KB and 1 MB (to show linearity). The shared
 * code is in bench/support/guard-*.ts. Not a test: nothing is asserted.
 *
 * Options: --runs N (7) timed runs per size (median printed), --threshold X (the default).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_INJECTION_THRESHOLD, scanInjection } from '../src/guard/injection/index.js';
import { injectionSets } from './support/guard-corpus.js';
import { INJECTION_TARGET, injectionRates } from './support/guard-quality.js';
import {
  BENIGN_PROSE,
  INJECTION_ADVERSARIAL,
  KB,
  MB,
  MS_PER_KB_TARGET,
  msPerKb,
  repeat,
} from './support/guard-speed.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, threshold: { type: 'string' } },
});
const runs = Number(values.runs);
const threshold =
  values.threshold === undefined ? DEFAULT_INJECTION_THRESHOLD : Number(values.threshold);

for (const set of injectionSets()) {
  const r = injectionRates(
    set.lines,
    set.lines.map((l) => scanInjection(l.text).score),
    threshold,
  );
  console.log(
    `${set.name} (${set.tuned ? 'tuned on' : 'held out'}): ${String(set.lines.length)} lines (${String(r.injections)} injection, ${String(r.benign)} benign), threshold ${String(threshold)}`,
  );
  console.log(
    `  recall ${r.recall.toFixed(3)} (target ≥ ${String(INJECTION_TARGET.recall)})   false-positive rate ${(r.fpr * 100).toFixed(2)} % (target ≤ ${String(INJECTION_TARGET.fpr * 100)} %)`,
  );
}

const prose = BENIGN_PROSE;
const heur = (t: string) => scanInjection(t);

console.log(`\nspeed (median of runs, ms per KB; target ≤ ${String(MS_PER_KB_TARGET)}, linear):`);
console.log(`  prose  1 KB   ${msPerKb(heur, repeat(prose, KB), runs).toFixed(4)}`);
console.log(`  prose 16 KB   ${msPerKb(heur, repeat(prose, 16 * KB), runs).toFixed(4)}`);
console.log(`  prose  1 MB   ${msPerKb(heur, repeat(prose, MB), runs).toFixed(4)}`);
let worst = 0;
for (const [name, make] of INJECTION_ADVERSARIAL) {
  const small = msPerKb(heur, make(256 * KB), runs);
  const big = msPerKb(heur, make(MB), runs);
  worst = Math.max(worst, big);
  console.log(
    `  adversarial ${name.padEnd(18)} 256 KB ${small.toFixed(4)}   1 MB ${big.toFixed(4)}`,
  );
}
console.log(`  worst adversarial 1 MB: ${worst.toFixed(4)} ms/KB`);
