/**
 * @module bench/support/guard-corpus — the labelled corpora of the guard benchmarks
 * (test/fixtures/guard): the PII/secret corpus with exact spans, and the prompt-injection sets —
 * the heuristics' own corpus (tuned on), the classifier's evaluation set (tuned on) and the two
 * held-out sets (never tuned on).
 */
import { readFileSync } from 'node:fs';
import { evalRows } from './classifier-eval.js';

/** One labelled line of pii-corpus.jsonl: every finding a scan must report, exactly. */
export interface PiiLine {
  readonly text: string;
  readonly findings: readonly { type: string; start: number; end: number }[];
}

/** One labelled prompt-injection text. */
export interface InjectionLine {
  readonly text: string;
  readonly label: 'injection' | 'benign';
}

/** A named injection set and whether the score combination was tuned on it. */
export interface InjectionSet {
  readonly name: string;
  readonly tuned: boolean;
  readonly lines: readonly InjectionLine[];
}

const FIXTURES = new URL('../../test/fixtures/guard/', import.meta.url);

/** The parsed lines of JSONL fixture `file` (blank lines skipped). */
export function loadJsonl<T>(file: string): T[] {
  return readFileSync(new URL(file, FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** pii-corpus.jsonl. */
export const piiCorpus = (): PiiLine[] => loadJsonl<PiiLine>('pii-corpus.jsonl');

/**
 * The injection sets in the order the benchmark prints them. The classifier's evaluation set
 * holds its own rows plus every moderation text as benign (see classifier-eval.ts).
 */
export function injectionSets(): InjectionSet[] {
  return [
    { name: 'corpus', tuned: true, lines: loadJsonl('injection-corpus.jsonl') },
    {
      name: 'classifier eval',
      tuned: true,
      lines: evalRows('prompt-injection').map((r) => ({
        text: r.text,
        label: r.label === 'injection' ? 'injection' : 'benign',
      })),
    },
    { name: 'held-out', tuned: false, lines: loadJsonl('injection-corpus.heldout.jsonl') },
    { name: 'independent', tuned: false, lines: loadJsonl('injection-corpus.independent.jsonl') },
  ];
}
