/**
 * @module policy/pattern — the small glob of the policy file's resource patterns: `*` (any run of
 * characters, also none) and `?` (exactly one) over the id charset `A–Z a–z 0–9 . _ : -`. Matched
 * without regular expressions, by the classic two-pointer walk that backtracks only to the last
 * `*` — O(pattern × id) at worst, so no pattern from a file can make a request slow.
 */

/** Characters of a model or dataset id (the config's model id charset). */
const ID_CHAR = /^[A-Za-z0-9._:-]$/;
/** A pattern: id characters and the two wildcards, 1–128 of them. */
const PATTERN = /^[A-Za-z0-9._:*?-]{1,128}$/;
/** An id as a resource names it: at most 128 id characters. */
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Why `pattern` is not a valid pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  if (PATTERN.test(pattern)) return undefined;
  if (pattern.length === 0) return 'empty pattern';
  if (pattern.length > 128) return 'pattern longer than 128 characters';
  const bad = Array.from(pattern).find((c) => c !== '*' && c !== '?' && !ID_CHAR.test(c)) ?? '';
  return `pattern ${JSON.stringify(pattern)} has the character ${JSON.stringify(bad)}; use letters, digits, . _ : - and the wildcards * ?`;
}

/** True when `id` is a well-formed resource id (patterns never match anything else). */
export function isResourceId(id: string): boolean {
  return ID.test(id);
}

/** Whether `id` matches the glob `pattern` (both assumed well-formed). */
export function globMatch(pattern: string, id: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let resume = 0;
  while (i < id.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && (c === 63 /* ? */ || c === id.charCodeAt(i))) {
      p++;
      i++;
    } else if (p < pattern.length && c === 42 /* * */) {
      star = p++;
      resume = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/** A compiled list of patterns: matches when any one does. */
export class PatternSet {
  readonly #exact: ReadonlySet<string>;
  readonly #globs: readonly string[];
  readonly #any: boolean;

  constructor(patterns: readonly string[]) {
    this.#any = patterns.includes('*');
    this.#exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
    this.#globs = patterns.filter((p) => /[*?]/.test(p));
  }

  /** Whether `id` matches one of the patterns (ids outside the charset never do). */
  matches(id: string): boolean {
    if (!isResourceId(id)) return false;
    if (this.#any || this.#exact.has(id)) return true;
    for (const g of this.#globs) if (globMatch(g, id)) return true;
    return false;
  }
}
