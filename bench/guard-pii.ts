/**
 * @module bench/guard-pii — `npm run bench:guard-pii`: the PII/secret part of `bench:guard` on
 * its own (quality per type on pii-corpus.jsonl, exact type and span; ms per KB of a full scan
 * on 1 KB and 16 KB realistic prompts and a 1 MB adversarial one). The shared code is in
 * bench/support/guard-*.ts. Not a test: nothing is asserted.
 *
 * Options: --runs N (15), --json (machine-readable output).
 */
import { parseArgs } from 'node:util';
import { createScanner } from '../src/guard/scan.js';
import { injectionSets, piiCorpus } from './support/guard-corpus.js';
import { PII_TARGET, piiQuality } from './support/guard-quality.js';
import {
  KB,
  MB,
  MS_PER_KB_TARGET,
  msPerKb,
  piiAdversarial,
  realisticPrompt,
} from './support/guard-speed.js';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } },
});
const runs = Number(args.runs);
const corpus = piiCorpus();
const benign = injectionSets()[0]?.lines ?? [];
const scanner = createScanner();
const scan = (t: string) => scanner.scan(t);
const quality = piiQuality(corpus, scan);
const speed = [
  { input: '1 KB prompt', msPerKb: msPerKb(scan, realisticPrompt(corpus, benign, KB), runs) },
  { input: '16 KB prompt', msPerKb: msPerKb(scan, realisticPrompt(corpus, benign, 16 * KB), runs) },
  { input: '1 MB adversarial', msPerKb: msPerKb(scan, piiAdversarial(MB), runs) },
];

if (args.json) {
  console.log(JSON.stringify({ lines: corpus.length, quality, speed }, null, 2));
} else {
  console.log(
    `corpus: ${String(corpus.length)} lines (targets: recall >= ${String(PII_TARGET.recall)} at precision >= ${String(PII_TARGET.precision)})`,
  );
  console.log('type          labelled  precision  recall');
  for (const q of quality)
    console.log(
      `${q.type.padEnd(14)}${String(q.labelled).padStart(8)}  ${q.precision.toFixed(3).padStart(9)}  ${q.recall.toFixed(3).padStart(6)}`,
    );
  console.log(
    `\nspeed (all detectors, median of runs; target <= ${String(MS_PER_KB_TARGET)} ms/KB)`,
  );
  for (const s of speed) console.log(`${s.input.padEnd(18)} ${s.msPerKb.toFixed(4)} ms/KB`);
}
