/**
 * @module bench/classifiers — `npm run bench:classifiers`: quality of the built-in few-shot
 * classifiers (moderation, prompt-injection) on the real USE-lite model, measured on the
 * labelled evaluation set in src/inference/examples/eval (see bench/support/classifier-eval.ts).
 * Prints per classifier: false-positive rate on benign text (overall, short texts, per language
 * and group), recall per harmful label, precision, the threshold used and a threshold sweep,
 * the scores of a few example texts, the benign texts it flags, and the load time (model, and
 * per classifier: embedding the examples, training). Nothing is asserted.
 *
 * Options: --method head|hybrid|centroid|top-k (default: the classifier's default),
 * --threshold N (default: the config default), --moderation-examples FILE and
 * --injection-examples FILE (an operator's JSON/YAML example set instead of the built-in one),
 * --list-errors (also the harmful texts it misses).
 */
import { parseArgs } from 'node:util';
import { configSchema } from '../src/config/schema.js';
import { loadModel } from '../src/inference/backends/tfjs/index.js';
import {
  builtinExampleSet,
  createFewShotClassifier,
  loadExampleSets,
  type BuiltinExampleSetName,
  type FewShotMethod,
} from '../src/inference/classifier.js';
import type { EmbeddingHandle } from '../src/inference/types.js';
import { modelSpec } from '../test/support/model-spec.js';
import {
  evalRows,
  HARMLESS,
  overlapWithTraining,
  report,
  scoreRows,
  type EvalReport,
  type Rate,
} from './support/classifier-eval.js';
import { printTable } from './support/table.js';

const { values } = parseArgs({
  options: {
    method: { type: 'string' },
    threshold: { type: 'string' },
    'moderation-examples': { type: 'string' },
    'injection-examples': { type: 'string' },
    'list-errors': { type: 'boolean', default: false },
  },
});

const METHODS: readonly FewShotMethod[] = ['head', 'hybrid', 'centroid', 'top-k'];
const method = values.method as FewShotMethod | undefined;
if (method !== undefined && !METHODS.includes(method)) {
  throw new Error(`--method must be one of ${METHODS.join(', ')}`);
}
const defaults = configSchema.parse({}).inference;
const SHOW = ['hi', 'hello', 'thanks', 'ok', 'bonjour', 'I will hurt you.', 'You idiot.'];
const SWEEP = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

const pct = (r: Rate): string => `${(r.rate * 100).toFixed(1)}% (${r.hits}/${r.of})`;
const ms = (t0: number): number => Math.round(performance.now() - t0);

/** Remembers every vector, so a second build measures the training alone. */
function memo(model: EmbeddingHandle): EmbeddingHandle {
  const cache = new Map<string, Float32Array>();
  return {
    ...model,
    embed: async (texts) => {
      const todo = texts.filter((t) => !cache.has(t));
      if (todo.length > 0) (await model.embed(todo)).forEach((v, i) => cache.set(todo[i]!, v));
      return texts.map((t) => cache.get(t)!);
    },
  };
}

function printReport(name: string, r: EvalReport, timing: string): void {
  const rows: string[][] = [
    ['threshold', String(r.threshold)],
    ['benign FPR, all', pct(r.fpr)],
    ['benign FPR, short (1-3 words)', pct(r.fprShort)],
    ...[...r.fprByLang].map(([lang, v]) => [`benign FPR, ${lang}`, pct(v)]),
    ...[...r.recallByLabel].map(([label, v]) => [`recall, ${label}`, pct(v)]),
    ['recall, all harmful', pct(r.recall)],
    ['recall, English harmful', pct(r.recallEnglish)],
    ...(name === 'moderation' ? [['exact category', pct(r.exactLabel)]] : []),
    ['precision', pct(r.precision)],
  ];
  printTable(`${name} (${timing})`, [{ title: 'measure' }, { title: 'value', right: true }], rows);
  printTable(
    `${name}: benign FPR by group`,
    [{ title: 'group' }, { title: 'FPR', right: true }],
    [...r.fprByGroup].map(([g, v]) => [g, pct(v)]),
  );
}

async function run(model: EmbeddingHandle, name: BuiltinExampleSetName): Promise<EvalReport> {
  const builtin = builtinExampleSet(name);
  const file = name === 'moderation' ? values['moderation-examples'] : values['injection-examples'];
  const examples = file === undefined ? builtin.examples : await loadExampleSets(file);
  const spec = name === 'moderation' ? defaults.moderation : defaults.promptInjection;
  const threshold =
    values.threshold === undefined ? (spec?.threshold ?? 0.5) : Number(values.threshold);
  const options = {
    id: name,
    threshold,
    ...(method === undefined ? {} : { method }),
    ...(builtin.fallbackLabel in examples ? { fallbackLabel: builtin.fallbackLabel } : {}),
  };
  const cached = memo(model);
  let t0 = performance.now();
  const classifier = await createFewShotClassifier(cached, examples, options);
  const buildMs = ms(t0);
  t0 = performance.now();
  await createFewShotClassifier(cached, examples, options);
  const trainMs = ms(t0);
  const n = Object.values(examples).flat().length;
  const timing = `${n} examples, built in ${buildMs} ms of which scoring set-up/training ${trainMs} ms`;

  const harmless = HARMLESS[name];
  const scored = await scoreRows(classifier, evalRows(name), harmless);
  const main = report(scored, harmless, threshold);
  printReport(name, main, timing);
  printTable(
    `${name}: threshold sweep`,
    ['threshold', 'FPR', 'FPR en', 'FPR short', 'recall', 'recall en', 'precision'].map((t, i) => ({
      title: t,
      right: i > 0,
    })),
    SWEEP.map((t) => {
      const r = report(scored, harmless, t);
      const en = r.fprByLang.get('en') ?? r.fprByLang.get('moderation/en');
      return [
        String(t),
        pct(r.fpr),
        en === undefined ? '-' : pct(en),
        pct(r.fprShort),
        pct(r.recall),
        pct(r.recallEnglish),
        pct(r.precision),
      ];
    }),
  );
  const shown = await scoreRows(
    classifier,
    SHOW.map((text) => ({ text, label: '?', group: '-', lang: '-' })),
    harmless,
  );
  printTable(
    `${name}: examples`,
    [
      { title: 'text' },
      { title: 'top harmful label' },
      { title: 'score', right: true },
      { title: 'flagged' },
    ],
    shown.map((s) => [s.row.text, s.top, s.topScore.toFixed(3), String(s.topScore >= threshold)]),
  );
  const fps = main.rows.filter((r) => r.flagged && r.label === harmless);
  console.log(`\n${name}: benign texts flagged (${fps.length}):`);
  for (const r of fps) console.log(`  [${r.group}] ${r.top} ${r.topScore.toFixed(2)}  ${r.text}`);
  if (values['list-errors']) {
    const missed = main.rows.filter((r) => !r.flagged && r.label !== harmless);
    console.log(`\n${name}: harmful texts missed (${missed.length}):`);
    for (const r of missed)
      console.log(`  [${r.label} ${r.group}] ${r.topScore.toFixed(2)}  ${r.text}`);
  }
  await classifier.close();
  return main;
}

const overlap = overlapWithTraining();
if (overlap.length > 0)
  console.warn(`evaluation texts that are also training examples: ${overlap.join(' | ')}`);
const t0 = performance.now();
const handle = await loadModel(modelSpec({ id: 'use-lite', backend: 'tfjs' }));
if (handle.task !== 'embedding') throw new Error('use-lite is not an embedding model');
console.log(`use-lite loaded in ${ms(t0)} ms; method ${method ?? 'default (head)'}`);
try {
  for (const name of ['moderation', 'prompt-injection'] as const) await run(handle, name);
} finally {
  await handle.close();
}
