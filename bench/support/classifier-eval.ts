/**
 * @module bench/support/classifier-eval — the labelled evaluation sets of the built-in few-shot
 * classifiers (src/inference/examples/eval/*.json, none of it a training example) and the
 * figures both `npm run bench:classifiers` and classifier.accuracy.test.ts compute from them:
 * false-positive rate on benign text (overall, short texts, per language, per group), recall
 * per harmful label, precision.
 *
 * A file is `{ label: { group: [text, …] } }`; a group is `<language>:<kind>` or `<language>`
 * (ISO 639-1), e.g. `en:short`, `fr:chat`. The prompt-injection detector also runs on every
 * moderation text (harmless or harmful, none is an injection), grouped as `moderation/<group>`:
 * greetings, threats and insults must not read as injections either.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  builtinExampleSet,
  type BuiltinExampleSetName,
  type FewShotClassifier,
} from '../../src/inference/classifier.js';

const EVAL_DIR = join(import.meta.dirname, '../../src/inference/examples/eval');

const evalFile = z.record(z.string(), z.record(z.string(), z.array(z.string().min(1)).min(1)));

/** One labelled text. */
export interface EvalRow {
  readonly text: string;
  readonly label: string;
  /** e.g. `en:short`, `moderation/fr:chat`. */
  readonly group: string;
  /** Language code, the group's part before `:`. */
  readonly lang: string;
}

/** The label that means "nothing to flag" in each built-in set. */
export const HARMLESS: Readonly<Record<BuiltinExampleSetName, string>> = {
  moderation: 'safe',
  'prompt-injection': 'benign',
};

/** Texts of at most this many words count as short. */
export const SHORT_WORDS = 3;

export const isShort = (text: string): boolean => text.trim().split(/\s+/).length <= SHORT_WORDS;

function rowsOf(name: BuiltinExampleSetName): EvalRow[] {
  const file = join(EVAL_DIR, `${name}.json`);
  const parsed = evalFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  return Object.entries(parsed).flatMap(([label, groups]) =>
    Object.entries(groups).flatMap(([group, texts]) =>
      texts.map((text) => ({ text, label, group, lang: group.split(':')[0] ?? group })),
    ),
  );
}

/** The evaluation rows of built-in classifier `name` (see the module notes). */
export function evalRows(name: BuiltinExampleSetName): EvalRow[] {
  const own = rowsOf(name);
  if (name === 'moderation') return own;
  const moderation = rowsOf('moderation').map((r) => ({
    ...r,
    label: HARMLESS[name],
    group: `moderation/${r.group}`,
  }));
  return [...own, ...moderation];
}

/** Lower case, runs of anything but letters and digits as one space: `Hello!` = `hello`. */
export const normalise = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** Evaluation texts that are (after normalise) also a training example of either set. */
export function overlapWithTraining(): string[] {
  const training = new Set(
    (['moderation', 'prompt-injection'] as const).flatMap((n) =>
      Object.values(builtinExampleSet(n).examples).flat().map(normalise),
    ),
  );
  const all = [...rowsOf('moderation'), ...rowsOf('prompt-injection')];
  return all.filter((r) => training.has(normalise(r.text))).map((r) => r.text);
}

/** One scored row: the harmful label with the highest score, and whether it is flagged. */
export interface ScoredRow extends EvalRow {
  readonly top: string;
  readonly topScore: number;
  readonly flagged: boolean;
  readonly scores: ReadonlyMap<string, number>;
}

/** A rate with its counts. */
export interface Rate {
  readonly hits: number;
  readonly of: number;
  readonly rate: number;
}

const rate = (hits: number, of: number): Rate => ({ hits, of, rate: of === 0 ? 0 : hits / of });

/** The figures of one classifier on its evaluation rows at one threshold. */
export interface EvalReport {
  readonly threshold: number;
  readonly rows: readonly ScoredRow[];
  /** Benign rows flagged. */
  readonly fpr: Rate;
  readonly fprShort: Rate;
  readonly fprByLang: ReadonlyMap<string, Rate>;
  readonly fprByGroup: ReadonlyMap<string, Rate>;
  /** Harmful rows flagged, per label and overall; `recallEnglish` only the `en` rows. */
  readonly recallByLabel: ReadonlyMap<string, Rate>;
  readonly recall: Rate;
  readonly recallEnglish: Rate;
  /** Harmful rows flagged with their own label (moderation categories). */
  readonly exactLabel: Rate;
  /** Of the flagged rows, how many are harmful. */
  readonly precision: Rate;
}

function tally<K>(
  rows: readonly ScoredRow[],
  key: (r: ScoredRow) => K,
  hit: (r: ScoredRow) => boolean,
) {
  const out = new Map<K, Rate>();
  for (const r of rows) {
    const k = key(r);
    const prev = out.get(k) ?? rate(0, 0);
    out.set(k, rate(prev.hits + (hit(r) ? 1 : 0), prev.of + 1));
  }
  return out;
}

/** Scores `rows` in one batch; flagged = some non-harmless label's score ≥ `threshold`. */
export async function scoreRows(
  classifier: FewShotClassifier,
  rows: readonly EvalRow[],
  harmless: string,
): Promise<{ row: EvalRow; top: string; topScore: number; scores: Map<string, number> }[]> {
  const results = await classifier.classifyBatch(rows.map((r) => r.text));
  return rows.map((row, i) => {
    const scores = new Map<string, number>();
    classifier.labels.forEach((l, j) => scores.set(l, results[i]?.scores[j] ?? 0));
    let top = '';
    let topScore = -1;
    for (const [l, s] of scores) if (l !== harmless && s > topScore) [top, topScore] = [l, s];
    return { row, top, topScore, scores };
  });
}

/** The report at `threshold` from rows scored by scoreRows. */
export function report(
  scored: Awaited<ReturnType<typeof scoreRows>>,
  harmless: string,
  threshold: number,
): EvalReport {
  const rows: ScoredRow[] = scored.map(({ row, top, topScore, scores }) => ({
    ...row,
    top,
    topScore,
    scores,
    flagged: topScore >= threshold,
  }));
  const benign = rows.filter((r) => r.label === harmless);
  const harmful = rows.filter((r) => r.label !== harmless);
  const flagged = rows.filter((r) => r.flagged);
  const count = (rs: readonly ScoredRow[], f: (r: ScoredRow) => boolean) => rs.filter(f).length;
  return {
    threshold,
    rows,
    fpr: rate(
      count(benign, (r) => r.flagged),
      benign.length,
    ),
    fprShort: rate(
      count(benign, (r) => r.flagged && isShort(r.text)),
      count(benign, (r) => isShort(r.text)),
    ),
    fprByLang: tally(
      benign,
      (r) => r.lang,
      (r) => r.flagged,
    ),
    fprByGroup: tally(
      benign,
      (r) => r.group,
      (r) => r.flagged,
    ),
    recallByLabel: tally(
      harmful,
      (r) => r.label,
      (r) => r.flagged,
    ),
    recall: rate(
      count(harmful, (r) => r.flagged),
      harmful.length,
    ),
    recallEnglish: rate(
      count(harmful, (r) => r.flagged && r.lang === 'en'),
      count(harmful, (r) => r.lang === 'en'),
    ),
    exactLabel: rate(
      count(harmful, (r) => r.flagged && r.top === r.label),
      harmful.length,
    ),
    precision: rate(
      count(flagged, (r) => r.label !== harmless),
      flagged.length,
    ),
  };
}
