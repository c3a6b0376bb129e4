/**
 * @module bench/guard — `npm run bench:guard`: the data controls' quality and speed figures of
 * issue 9 in one run. Nothing is asserted; each target is printed beside its figure.
 *
 * - PII/secret quality: precision and recall per type and overall on pii-corpus.jsonl (exact
 *   type and span).
 * - Prompt injection: recall and false-positive rate of the heuristics alone, the classifier
 *   alone and the combined score (combineInjectionScore) on the heuristics' corpus and the
 *   classifier's evaluation set (both tuned on) and on the two held-out sets (never tuned on);
 *   then what each policy for running the classifier catches and costs.
 * - Speed: ms per KB of the pattern guards (full scan) and the heuristics on 1 KB and 16 KB
 *   realistic prompts and 1 MB adversarial prompts (median of runs); the classifier's ms per
 *   prompt in batches of 1 and 16.
 * - Gateway: echo-model throughput at 32 connections with every guard on vs off.
 *
 * Options: --runs N (7) timed runs per speed figure, --rounds N (5) and --ms N (3000) gateway
 * rounds, --json (one JSON document instead of tables), --skip-gateway, --skip-classifier.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { configSchema } from '../src/config/schema.js';
import { createScanner } from '../src/guard/scan.js';
import {
  combineInjectionScore,
  DEFAULT_INJECTION_THRESHOLD,
  scanInjection,
} from '../src/guard/injection/index.js';
import { injectionSets, piiCorpus } from './support/guard-corpus.js';
import { loadInjectionClassifier } from './support/guard-classifier.js';
import {
  compareGuardsOnOff,
  GATEWAY_TARGET,
  type GatewayComparison,
  type GatewayFigures,
} from './support/guard-gateway.js';
import {
  INJECTION_TARGET,
  injectionRates,
  PII_TARGET,
  piiQuality,
  type InjectionRates,
} from './support/guard-quality.js';
import {
  BENIGN_PROSE,
  INJECTION_ADVERSARIAL,
  KB,
  MB,
  MS_PER_KB_TARGET,
  piiAdversarial,
  realisticPrompt,
  repeat,
  timePerKb,
  type Timing,
} from './support/guard-speed.js';
import { perSec, printTable, ratio, verdict } from './support/table.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    rounds: { type: 'string', default: '5' },
    ms: { type: 'string', default: '3000' },
    json: { type: 'boolean', default: false },
    'skip-gateway': { type: 'boolean', default: false },
    'skip-classifier': { type: 'boolean', default: false },
  },
});
const int = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const runs = int('runs', values.runs);
const rounds = int('rounds', values.rounds);
const roundMs = int('ms', values.ms);
const progress = (s: string): void => void process.stderr.write(`${s}\n`);
const f3 = (x: number): string => x.toFixed(3);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const load = (): string => loadavg()[0]?.toFixed(2) ?? '?';
const loadAtStart = load();
const result: Record<string, unknown> = { node: process.version, runs, loadAtStart };

// --- PII / secrets quality --------------------------------------------------------------------
const pii = piiCorpus();
const scanner = createScanner();
const quality = piiQuality(pii, (t) => scanner.scan(t));
result.pii = { lines: pii.length, target: PII_TARGET, quality };

// --- speed (before the classifier is loaded, so that its model cannot disturb the timings) ---
const sets = injectionSets();
progress('timing the pattern guards and heuristics…');
const injectionMain = sets[0]?.lines ?? [];
const prompt1k = realisticPrompt(pii, injectionMain, KB);
const prompt16k = realisticPrompt(pii, injectionMain, 16 * KB);
const scan = (t: string) => scanner.scan(t);
const heur = (t: string) => scanInjection(t);
const both = (t: string) => [scanner.scan(t), scanInjection(t)];
const speed: ({ guard: string; input: string } & Timing)[] = [];
for (const [guard, op] of [
  ['pattern guards (full scan)', scan],
  ['injection heuristics', heur],
  ['both', both],
] as const) {
  speed.push({ guard, input: '1 KB realistic', ...timePerKb(op, prompt1k, runs) });
  speed.push({ guard, input: '16 KB realistic', ...timePerKb(op, prompt16k, runs) });
}
speed.push({
  guard: 'pattern guards (full scan)',
  input: '1 MB adversarial (all detectors)',
  ...timePerKb(scan, piiAdversarial(MB), runs),
});
for (const [name, make] of INJECTION_ADVERSARIAL)
  speed.push({
    guard: 'injection heuristics',
    input: `1 MB adversarial: ${name}`,
    ...timePerKb(heur, make(MB), runs),
  });
result.speed = { target: MS_PER_KB_TARGET, rows: speed };

// --- prompt injection quality -----------------------------------------------------------------
const threshold = DEFAULT_INJECTION_THRESHOLD;
const classifierThreshold = configSchema.parse({}).inference.promptInjection?.threshold ?? 0.5;
const classifier = values['skip-classifier'] ? undefined : await loadInjectionClassifier();
if (classifier !== undefined) progress(`classifier loaded in ${classifier.loadMs.toFixed(0)} ms`);
const scored = [];
for (const set of sets) {
  const texts = set.lines.map((l) => l.text);
  const h = texts.map((t) => scanInjection(t).score);
  const c = classifier === undefined ? undefined : await classifier.probabilities(texts);
  scored.push({ set, h, c });
}
type Scorer = 'heuristics' | 'classifier' | 'combined';
const injection = scored.map(({ set, h, c }) => {
  const rates: Partial<Record<Scorer, InjectionRates>> = {
    heuristics: injectionRates(set.lines, h, threshold),
  };
  if (c !== undefined) {
    rates.classifier = injectionRates(set.lines, c, classifierThreshold);
    const comb = h.map((x, i) => combineInjectionScore(x, c[i]));
    rates.combined = injectionRates(set.lines, comb, threshold);
  }
  return { set: set.name, tuned: set.tuned, lines: set.lines.length, rates };
});
result.injection = { threshold, classifierThreshold, target: INJECTION_TARGET, sets: injection };

// --- classifier latency and when to run it ------------------------------------------------------
const classifierSpeed: { input: string; batch: number; msPerPrompt: number }[] = [];
if (classifier !== undefined) {
  progress('timing the classifier…');
  const short = injectionMain.slice(0, 16).map((l) => l.text);
  const long = Array.from({ length: 16 }, (_, i) =>
    realisticPrompt(pii.slice(i * 11), injectionMain.slice(i * 3), KB),
  );
  for (const [input, texts] of [
    ['corpus line (~80 chars)', short],
    ['1 KB realistic prompt', long],
  ] as const) {
    classifierSpeed.push({
      input,
      batch: 1,
      msPerPrompt: await classifier.msPerPrompt(texts.slice(0, 1), runs),
    });
    classifierSpeed.push({
      input,
      batch: 16,
      msPerPrompt: await classifier.msPerPrompt(texts, runs),
    });
  }
  await classifier.close();
}
result.classifierSpeed = classifierSpeed;
const heldOut = scored.filter((s) => !s.set.tuned);
const modes = [
  { mode: 'never', runs: (_h: number) => false },
  { mode: 'uncertain [0.1, threshold)', runs: (h: number) => h >= 0.1 && h < threshold },
  { mode: 'uncertain [0, threshold)', runs: (h: number) => h < threshold },
  { mode: 'always', runs: (_h: number) => true },
];
const classifierMs = classifierSpeed.find((s) => s.batch === 1)?.msPerPrompt ?? Number.NaN;
const runModes =
  classifier === undefined
    ? []
    : modes.map(({ mode, runs: run }) => {
        const lines = heldOut.flatMap((s) => s.set.lines);
        const hs = heldOut.flatMap((s) => s.h);
        const cs = heldOut.flatMap((s) => s.c ?? []);
        const ran = hs.map((h) => run(h));
        const comb = hs.map((h, i) =>
          combineInjectionScore(h, ran[i] === true ? cs[i] : undefined),
        );
        const share = ran.filter(Boolean).length / ran.length;
        return {
          mode,
          share,
          msPerPrompt: share * classifierMs,
          ...injectionRates(lines, comb, threshold),
        };
      });
result.classifierRunModes = runModes;

// --- gateway ----------------------------------------------------------------------------------
/** A short chat turn (the prompt `bench:gateway` sends) and a 1 KB one. */
const GATEWAY_PROMPTS = [
  { name: 'short chat turn (25 chars)', prompt: 'Hello! How are you today?' },
  { name: '1 KB benign prompt', prompt: repeat(BENIGN_PROSE, KB) },
] as const;
let gateway: { name: string; figures: GatewayComparison }[] | undefined;
if (!values['skip-gateway']) {
  gateway = [];
  for (const { name, prompt } of GATEWAY_PROMPTS) {
    progress(`gateway (${name}): guards on vs off…`);
    const figures = await compareGuardsOnOff({
      rounds,
      ms: roundMs,
      warmupMs: 1500,
      connections: 32,
      prompt,
    });
    gateway.push({ name, figures });
  }
}
result.gateway = gateway ?? 'skipped';
result.loadAtEnd = load();

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

console.log(
  `gatehouse bench:guard — node ${process.version}, ${String(availableParallelism())} CPUs, ` +
    `${String(runs)} runs per speed figure, load average ${loadAtStart} at start and ` +
    `${load()} at end (speed figures scale with it on a shared machine)`,
);
printTable(
  `PII/secret quality, pii-corpus.jsonl (${String(pii.length)} lines; exact type and span; target recall ≥ ${String(PII_TARGET.recall)} at precision ≥ ${String(PII_TARGET.precision)})`,
  ['type', 'labelled', 'found', 'precision', 'recall', 'target'].map((t, i) => ({
    title: t,
    right: i > 0,
  })),
  quality.map((q) => [
    q.type,
    String(q.labelled),
    String(q.found),
    f3(q.precision),
    f3(q.recall),
    verdict(q.recall >= PII_TARGET.recall && q.precision >= PII_TARGET.precision),
  ]),
);
printTable(
  `Prompt injection (threshold ${String(threshold)}; classifier alone at ${String(classifierThreshold)}; target recall ≥ ${String(INJECTION_TARGET.recall)} at FPR ≤ ${pct(INJECTION_TARGET.fpr)})`,
  ['set', 'role', 'lines', 'scorer', 'recall', 'FPR', 'target'].map((t, i) => ({
    title: t,
    right: i === 2 || i === 4 || i === 5,
  })),
  injection.flatMap((s) =>
    (Object.entries(s.rates) as [Scorer, InjectionRates][]).map(([scorer, r]) => [
      s.set,
      s.tuned ? 'tuned on' : 'held out',
      String(s.lines),
      scorer,
      `${f3(r.recall)} (${String(r.caught)}/${String(r.injections)})`,
      `${pct(r.fpr)} (${String(r.falsePositives)}/${String(r.benign)})`,
      verdict(r.meetsTarget),
    ]),
  ),
);
if (runModes.length > 0)
  printTable(
    `When to run the classifier: combined score on the held-out sets pooled (${String(runModes[0]?.injections)} injections, ${String(runModes[0]?.benign)} benign); cost = share × classifier ms (batch 1)`,
    ['mode', 'classified', 'recall', 'FPR', 'added ms/prompt'].map((t, i) => ({
      title: t,
      right: i > 0,
    })),
    runModes.map((m) => [m.mode, pct(m.share), f3(m.recall), pct(m.fpr), m.msPerPrompt.toFixed(2)]),
  );
printTable(
  `Speed, ms per KB (median of ${String(runs)} runs; target ≤ ${String(MS_PER_KB_TARGET)} wall-clock)`,
  ['guard', 'input', 'ms/KB', 'CPU ms/KB', 'target'].map((t, i) => ({ title: t, right: i > 1 })),
  speed.map((s) => [
    s.guard,
    s.input,
    s.msPerKb.toFixed(4),
    s.cpuMsPerKb.toFixed(4),
    verdict(s.msPerKb <= MS_PER_KB_TARGET),
  ]),
);
if (classifierSpeed.length > 0)
  printTable(
    `prompt-injection classifier (USE-lite few-shot), ms per prompt (median of ${String(runs)} runs)`,
    ['input', 'batch', 'ms/prompt'].map((t, i) => ({ title: t, right: i > 0 })),
    classifierSpeed.map((s) => [s.input, String(s.batch), s.msPerPrompt.toFixed(2)]),
  );
const gatewayRow = (name: string, g: GatewayFigures, r: string): string[] => [
  name,
  perSec(g.reqPerSec),
  g.cpuUsPerReq.toFixed(0),
  g.p99Ms.toFixed(1),
  r,
];
if (gateway === undefined) console.log('\ngateway: skipped (--skip-gateway)');
else
  printTable(
    `Gateway, POST /v1/chat/completions on echo, 32 connections, audit on, medians of ${String(rounds)} rounds of ${String(roundMs)} ms (target on/off ≥ ${String(GATEWAY_TARGET)}×)`,
    ['prompt', 'guards', 'req/s', 'µs CPU/req', 'p99 ms', 'on/off'].map((t, i) => ({
      title: t,
      right: i > 1,
    })),
    gateway.flatMap(({ name, figures: g }) => [
      [name, ...gatewayRow('on', g.on, `${ratio(g.ratio)} ${verdict(g.ratio >= GATEWAY_TARGET)}`)],
      ['', ...gatewayRow('off', g.off, '')],
    ]),
  );
