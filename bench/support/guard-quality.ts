/**
 * @module bench/support/guard-quality — the quality figures of the guard benchmarks: PII/secret
 * precision and recall per type (a finding is a true positive only when type and span match a
 * label exactly), and a prompt-injection scorer's recall and false-positive rate at a threshold.
 */
import type { Finding } from '../../src/guard/index.js';
import type { InjectionLine, PiiLine } from './guard-corpus.js';

/** PII/secret targets of issue 9. */
export const PII_TARGET = { recall: 0.98, precision: 0.95 } as const;
/** Prompt-injection targets of issue 9. */
export const INJECTION_TARGET = { recall: 0.9, fpr: 0.02 } as const;

/** One row of the PII quality table; type `ALL` sums every type. */
export interface PiiQuality {
  readonly type: string;
  readonly labelled: number;
  readonly found: number;
  readonly precision: number;
  readonly recall: number;
}

const share = (a: number, b: number): number => (b === 0 ? 1 : a / b);

/** Precision and recall per type and overall of `scan` over `corpus`. */
export function piiQuality(
  corpus: readonly PiiLine[],
  scan: (text: string) => readonly Pick<Finding, 'type' | 'start' | 'end'>[],
): PiiQuality[] {
  const stats = new Map<string, { tp: number; fp: number; fn: number }>();
  const stat = (t: string) => {
    let s = stats.get(t);
    if (s === undefined) stats.set(t, (s = { tp: 0, fp: 0, fn: 0 }));
    return s;
  };
  const key = (f: { type: string; start: number; end: number }) =>
    `${f.type}:${String(f.start)}:${String(f.end)}`;
  for (const line of corpus) {
    const want = new Map(line.findings.map((f) => [key(f), f.type]));
    const got = new Map(scan(line.text).map((f) => [key(f), f.type]));
    for (const [k, type] of got) stat(type)[want.has(k) ? 'tp' : 'fp']++;
    for (const [k, type] of want) if (!got.has(k)) stat(type).fn++;
  }
  const row = (type: string, s: { tp: number; fp: number; fn: number }): PiiQuality => ({
    type,
    labelled: s.tp + s.fn,
    found: s.tp + s.fp,
    precision: share(s.tp, s.tp + s.fp),
    recall: share(s.tp, s.tp + s.fn),
  });
  const all = { tp: 0, fp: 0, fn: 0 };
  for (const s of stats.values()) {
    all.tp += s.tp;
    all.fp += s.fp;
    all.fn += s.fn;
  }
  return [
    ...[...stats.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, s]) => row(t, s)),
    row('ALL', all),
  ];
}

/** Recall and false-positive rate with their counts. */
export interface InjectionRates {
  readonly injections: number;
  readonly benign: number;
  readonly caught: number;
  readonly falsePositives: number;
  readonly recall: number;
  readonly fpr: number;
  readonly meetsTarget: boolean;
}

/** The rates of `scores[i]` (the score of `lines[i]`) flagged at `score ≥ threshold`. */
export function injectionRates(
  lines: readonly InjectionLine[],
  scores: readonly number[],
  threshold: number,
): InjectionRates {
  let caught = 0;
  let falsePositives = 0;
  let injections = 0;
  lines.forEach((line, i) => {
    const hit = (scores[i] ?? 0) >= threshold;
    if (line.label === 'injection') {
      injections++;
      if (hit) caught++;
    } else if (hit) falsePositives++;
  });
  const benign = lines.length - injections;
  const recall = share(caught, injections);
  const fpr = benign === 0 ? 0 : falsePositives / benign;
  return {
    injections,
    benign,
    caught,
    falsePositives,
    recall,
    fpr,
    meetsTarget: recall >= INJECTION_TARGET.recall && fpr <= INJECTION_TARGET.fpr,
  };
}
