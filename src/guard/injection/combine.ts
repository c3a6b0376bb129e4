/**
 * @module guard/injection/combine — the one prompt-injection score the pipeline compares to the
 * role's threshold: the heuristic score combined with the `prompt-injection` classifier's
 * probability of `injection`, when the classifier ran.
 *
 * Why this formula, measured by `npm run bench:guard`: the heuristics catch every attack of
 * their own corpus (test/fixtures/guard/injection-corpus.jsonl) with no false positive, but that
 * corpus's hard negatives (text about injection, code, "skip the above instructions") score
 * 0.95–0.996 with the classifier, which flags 19% of them at 0.5. So the classifier counts only
 * when it is nearly certain: its probability is rescaled from [0.98, 1] to [0, 1] (below 0.98 it
 * adds nothing; alone it reaches 0.5 at 0.99) and joined to the heuristic score by a noisy-OR,
 * so weak heuristic evidence and a confident classifier add up. Tuned only on the heuristics'
 * corpus and the classifier's own evaluation set: the floor is the lowest one that keeps the
 * false-positive rate within half the 2% target on both; the held-out sets are reported by the
 * benchmark, never tuned against.
 */

/** Classifier probabilities at or below this add nothing to the score. */
export const INJECTION_CLASSIFIER_FLOOR = 0.98;

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/**
 * The combined score in [0, 1] of `heuristic` (scanInjection's score) and `classifier` (the
 * `prompt-injection` classifier's probability of label `injection`, or `undefined` when it did
 * not run, which leaves the heuristic score as it is). Never lower than `heuristic` and
 * non-decreasing in both arguments, so a text the heuristics already block stays blocked and
 * the classifier need not run on it. Throws a RangeError on NaN (the caller fails closed).
 */
export function combineInjectionScore(heuristic: number, classifier: number | undefined): number {
  if (Number.isNaN(heuristic) || (classifier !== undefined && Number.isNaN(classifier)))
    throw new RangeError('injection score is NaN');
  const h = clamp01(heuristic);
  if (classifier === undefined) return h;
  const c = clamp01((classifier - INJECTION_CLASSIFIER_FLOOR) / (1 - INJECTION_CLASSIFIER_FLOOR));
  // 1 − (1 − h)(1 − c), written so that rounding cannot take it below h.
  return Math.min(1, h + (1 - h) * c);
}
