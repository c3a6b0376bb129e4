/**
 * @module guard/rules — what the pipeline does with a finding. A phase's rules (prompt or
 * output, for one caller and model) scan a text with every guard that applies and give each
 * finding its action; the request pipeline, the output stream and `POST /v1/guard/inspect` all
 * run the same `PhaseRules`, so inspecting a text shows exactly what a request would do.
 */
import type { Finding } from './types.js';

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
  /** The most UTF-16 code units one finding can span: what an output stream must hold back. */
  readonly maxSpan: number;
  /**
   * Every finding in `text`, non-overlapping, sorted by start, each with its action. Throws
   * GuardUnavailableError (503) when a guard fails or runs past the time budget: never returns
   * an unchecked verdict.
   */
  inspect(text: string): readonly RuledFinding[];
}

/** True when `f` changes what is sent on (an applied redact or block). */
export function applies(f: RuledFinding): boolean {
  return !f.dryRun && f.action !== 'allow';
}
