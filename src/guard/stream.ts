/**
 * @module guard/stream — the output guard while a model streams. Generated text is held back
 * only as far as a finding can reach (`rules.maxSpan` plus a small right-context margin); each
 * push re-scans the held text behind a window of already-emitted text (left context, so a
 * detector never sees a fake word boundary), emits what can no longer change, redacted with the
 * request's shared Redactor, and cuts the stream at the first applied `block`.
 *
 * Guarantee (tested in stream.property.test.ts, for any text and any split into chunks): when
 * every detector is local — what it finds in a window agrees with what it finds in the whole
 * text wherever the match lies at least LOOKBEHIND characters from the window's start and
 * LOOKAHEAD from its end — and overlaps between detectors resolve within LOOKAHEAD, the
 * concatenation of every `push` and `end` equals the one-shot result (`rules.inspect(whole)`,
 * redacted with its applied redacts, cut before its first applied block) and `findings()` equals
 * `rules.inspect(whole)` up to and including that block. The built-in detectors are local in
 * this sense. Without locality the weaker guarantee remains: every finding a window reports is
 * redacted or blocked, the rest of one that reaches back into emitted text included.
 */
import type { Redactor } from './redact.js';
import { applies, type PhaseRules, type RuledFinding } from './rules.js';

/** Characters of right context a detector may read past the end of its match. */
export const LOOKAHEAD = 64;
/** Characters of left context a detector may read before the start of its match. */
export const LOOKBEHIND = 256;

/** Tuning of one stream. */
export interface OutputStreamOptions {
  /**
   * Re-scan only once this many characters beyond the hold-back are pending (default 0: scan
   * on every push that can release text). Each scan reads about 2 × maxSpan characters, so a
   * batch of a few hundred trades that much extra latency for far less work per token.
   */
  readonly batch?: number;
}

/** Redacts and cuts one model output as it streams; one instance per generated choice. */
export class OutputStream {
  readonly #rules: PhaseRules;
  readonly #redactor: Redactor;
  /** Pending text kept back after each push. */
  readonly #hold: number;
  /** Emitted text kept as left context for the next scan. */
  readonly #keep: number;
  readonly #batch: number;
  readonly #findings: RuledFinding[] = [];
  #context = '';
  #pending = '';
  /** Offset of `#pending` in the whole output (UTF-16 code units). */
  #offset = 0;
  #blocked: RuledFinding | undefined;
  #ended = false;

  constructor(rules: PhaseRules, redactor: Redactor, options: OutputStreamOptions = {}) {
    this.#rules = rules;
    this.#redactor = redactor;
    this.#hold = rules.maxSpan + LOOKAHEAD;
    this.#keep = rules.maxSpan + LOOKBEHIND;
    this.#batch = Math.max(0, options.batch ?? 0);
  }

  /**
   * Set once a finding with an applied `block` is reached: the text returned so far ends just
   * before that finding, and push/end return '' from then on.
   */
  get blocked(): RuledFinding | undefined {
    return this.#blocked;
  }

  /** Every finding seen so far, dry-run and allowed ones included (for audit counts). */
  findings(): readonly RuledFinding[] {
    return this.#findings;
  }

  /**
   * Text safe to send now (redacted where the rules say), '' while holding back. Throws what
   * `rules.inspect` throws (GuardUnavailableError): the caller fails closed.
   */
  push(chunk: string): string {
    if (this.#blocked !== undefined || this.#ended) return '';
    this.#pending += chunk;
    if (this.#pending.length <= this.#hold + this.#batch) return '';
    return this.#drain(false);
  }

  /** Flushes what is held back (end of generation); later calls return ''. */
  end(): string {
    if (this.#blocked !== undefined || this.#ended) return '';
    const out = this.#pending.length === 0 ? '' : this.#drain(true);
    this.#ended = true;
    this.#context = '';
    this.#pending = '';
    return out;
  }

  /** Scans context + pending, emits everything before the settle limit (or all when final). */
  #drain(final: boolean): string {
    const window = this.#context + this.#pending;
    const off = this.#context.length;
    // sorted defensively: an unsorted answer must not let a finding slip past the `break`
    const found = [...this.#rules.inspect(window)].sort((x, y) => x.start - y.start);
    // A finding that starts before `limit` ends before `window.length - LOOKAHEAD`: it is
    // complete and has its right context, so it can be settled now.
    // Never into the left context: what is there was emitted already.
    const limit = final
      ? window.length
      : Math.max(
          off,
          Math.min(window.length - this.#hold, this.#rules.openFrom?.(window) ?? window.length),
        );
    const shift = this.#offset - off;
    let out = '';
    let at = off; // window text before `at` is emitted (or replaced)
    let cut = limit;
    for (const f of found) {
      if (f.end <= off) continue; // wholly in the left context: settled by an earlier scan
      if (f.start >= limit) break; // may still grow or vanish: held
      const seen = { ...f, start: f.start + shift, end: f.end + shift };
      this.#findings.push(seen);
      cut = Math.max(cut, f.end); // a straddling finding is emitted whole, never split
      if (!applies(f)) continue;
      // One that starts in the context (only from a non-local detector) is still redacted or
      // blocked from the emit boundary on.
      out += window.slice(at, Math.max(at, f.start));
      if (f.action === 'block') {
        this.#blocked = seen;
        this.#context = '';
        this.#pending = '';
        return out;
      }
      if (f.end <= at) continue; // nested in one already replaced (rules broke their contract)
      out += this.#redactor.placeholder(f.type, window.slice(f.start, f.end));
      at = f.end;
    }
    // never split a surrogate pair between two sends
    if (!final && cut === limit && cut > at && isSplitPair(window, cut)) cut--;
    out += window.slice(at, Math.max(at, cut));
    const context = this.#context + this.#pending.slice(0, cut - off);
    this.#context = context.slice(Math.max(0, context.length - this.#keep));
    this.#pending = this.#pending.slice(cut - off);
    this.#offset += cut - off;
    return out;
  }
}

function isSplitPair(text: string, i: number): boolean {
  const hi = text.charCodeAt(i - 1);
  const lo = text.charCodeAt(i);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}
