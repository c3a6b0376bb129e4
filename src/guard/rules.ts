/**
 * @module guard/rules — what the pipeline does with a finding. A phase's rules (prompt or
 * output, for one caller and model) scan a text with every guard that applies and give each
 * finding its action; the request pipeline, the output stream and `POST /v1/guard/inspect` all
 * run the same `PhaseRules`, so inspecting a text shows exactly what a request would do.
 */
import type { TextProfile } from './profile.js';
import type { Detector, Finding } from './types.js';

/** What happens to a finding: kept as is, replaced by a typed placeholder, or the text refused. */
export type GuardAction = 'allow' | 'redact' | 'block';

/** A phase of a request: what the caller sends, or what the model generates. */
export type GuardPhase = 'prompt' | 'output';

/** A finding with the action the caller's rules give it. */
export interface RuledFinding extends Finding {
  readonly action: GuardAction;
  /** The guard that found it is in dry-run: the action is recorded, not applied. */
  readonly dryRun: boolean;
}

/** The compiled rules of one phase for one caller (roles) and model. */
export interface PhaseRules {
  readonly phase: GuardPhase;
  /**
   * What an output stream must always hold back: the most UTF-16 code units one finding of a
   * detector without its own {@link openFrom} rule can span.
   */
  readonly maxSpan: number;
  /**
   * Where in `text` a finding that may still grow starts (findings of the white-space-free and
   * long detectors), `text.length` when none: a stream holds back from there too.
   */
  openFrom?(text: string): number;
  /**
   * Every finding in `text`, non-overlapping, sorted by start, each with its action. Throws
   * GuardUnavailableError (503) when a guard fails or runs past the time budget: never returns
   * an unchecked verdict. `profile`, when given, is `profileText(text)` (made once for every
   * guard of a text).
   */
  inspect(text: string, profile?: TextProfile): readonly RuledFinding[];
}

/** True when `f` changes what is sent on (an applied redact or block). */
export function applies(f: RuledFinding): boolean {
  return !f.dryRun && f.action !== 'allow';
}

/** Is `c` (a UTF-16 code unit) white space, as a white-space-free detector's matches exclude it? */
function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x3000 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x1680 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0xfeff
  );
}

/** The stream hold-back of a set of detectors: {@link PhaseRules.maxSpan} and `openFrom`. */
export function streamHold(detectors: readonly Detector[]): {
  maxSpan: number;
  openFrom: (text: string) => number;
} {
  let maxSpan = 0;
  let tokenSpan = 0;
  const open: Detector[] = [];
  for (const d of detectors) {
    if (d.whitespaceFree === true) tokenSpan = Math.max(tokenSpan, d.maxSpan);
    else if (d.openFrom !== undefined) open.push(d);
    else maxSpan = Math.max(maxSpan, d.maxSpan);
  }
  return {
    maxSpan,
    openFrom(text: string): number {
      let from = text.length;
      if (tokenSpan > 0) {
        // An unfinished match of a white-space-free detector lies in the trailing run, and
        // within its span of the end.
        const floor = Math.max(0, text.length - tokenSpan);
        let i = text.length;
        while (i > floor && !isSpace(text.charCodeAt(i - 1))) i--;
        from = i;
      }
      for (const d of open) {
        const at = d.openFrom?.(text);
        if (at !== undefined && at < from) from = at;
      }
      return from;
    },
  };
}
