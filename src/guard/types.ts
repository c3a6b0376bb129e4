/**
 * @module guard/types — the shapes every guard shares: findings (UTF-16 spans of sensitive data),
 * detectors (linear-time scanners with a bounded match span) and verdicts.
 */

/** The built-in finding types, exactly as the inspect endpoint reports them. */
export const BUILTIN_FINDING_TYPES = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'IBAN',
  'US_SSN',
  'IP_ADDRESS',
  'PRIVATE_KEY',
  'JWT',
  'API_KEY',
  'PROMPT_INJECTION',
] as const;

/** A built-in finding type. */
export type BuiltinFindingType = (typeof BUILTIN_FINDING_TYPES)[number];

/** A finding type: a built-in one or an operator-defined pattern name. */
export type FindingType = BuiltinFindingType | (string & Record<never, never>);

/** One span of sensitive data. `start`/`end` are UTF-16 offsets: `text.slice(start, end)`. */
export interface Finding {
  readonly type: FindingType;
  readonly start: number;
  readonly end: number;
  /** Name of the guard (detector) that produced it. */
  readonly guard: string;
  readonly score?: number;
}

/** A scanner for one family of sensitive data. `detect` must run in time linear in `text`. */
export interface Detector {
  readonly name: string;
  readonly types: readonly FindingType[];
  /** The most UTF-16 code units one match can span (streaming hold-back). */
  readonly maxSpan: number;
  /**
   * True when no match ever contains white space (e-mail addresses, tokens, keys): a stream then
   * holds back for this detector only from the start of its trailing white-space-free run, not
   * `maxSpan` characters — so a 40 KB JWT bound costs no latency on ordinary text.
   */
  readonly whitespaceFree?: boolean;
  /**
   * For a long match that may contain white space (a PEM block): the index where a match that
   * `text` has begun but not finished starts, or undefined when none is open. A stream holds
   * back from there instead of `maxSpan` characters.
   */
  openFrom?(text: string): number | undefined;
  detect(text: string): Finding[];
}

/** What a guard decides. */
export type Verdict =
  | { readonly action: 'allow'; readonly findings: readonly Finding[] }
  | { readonly action: 'redact'; readonly findings: readonly Finding[] }
  | { readonly action: 'block'; readonly code: string; readonly findings: readonly Finding[] };

const BUILTIN_SET: ReadonlySet<string> = new Set(BUILTIN_FINDING_TYPES);

/** Whether `name` is one of the built-in finding types. */
export function isBuiltinFindingType(name: string): name is BuiltinFindingType {
  return BUILTIN_SET.has(name);
}
