/**
 * @module guard/pipeline — the content guards as a request runs them: the caller's data controls
 * (policy, merged over its roles) and the model's term lists compiled once into {@link PhaseRules}
 * for prompts and outputs, the prompt-injection score (heuristics, and the `prompt-injection`
 * classifier when the caller's rules consult it), and what the audit event records — types,
 * counts and actions, never text. `POST /v1/guard/inspect` runs exactly these functions.
 *
 * Fail closed: a guard that throws or runs past its budget raises GuardUnavailableError (503);
 * nothing here returns a verdict for text it did not check.
 */
import { GatewayError } from '../errors.js';
import { OutputStream } from './stream.js';
import { overallAction } from './verdicts.js';
import type { CallContext } from '../inference/index.js';
import type { DataControls, PhaseActions, PolicySnapshot } from '../policy/index.js';
import { builtinDetectors } from './detectors/index.js';
import {
  combineInjectionScore,
  PROMPT_KEYWORDS,
  scanInjection,
  type InjectionFinding,
  type InjectionReport,
} from './injection/index.js';
import { Redactor } from './redact.js';
import {
  applies,
  streamHold,
  type GuardAction,
  type PhaseRules,
  type RuledFinding,
} from './rules.js';
import { profileText, type TextProfile } from './profile.js';
import { createScanner, GuardUnavailableError, type Scanner } from './scan.js';
import { allowedTerms, DENIED_TERM, deniedTermsDetector } from './terms.js';
import type { Detector, Finding } from './types.js';

/** The server's guard settings (config `guard`). */
export interface GuardOptions {
  /** false: no content guard runs (system-message rules and limits still hold). */
  readonly enabled: boolean;
  /** Most ms the guards may take on one text before the request is refused (503). */
  readonly budgetMs: number;
}

/**
 * The `prompt-injection` classifier: the probability of `injection` for each text. Absent when
 * the classifier is not configured. Its errors (and a classifier still loading) fail the request.
 */
export type InjectionClassifier = (texts: string[], signal: ClassifySignal) => Promise<number[]>;

/** The request's call context: the classifier's work is scheduled and cancelled with it. */
export type ClassifySignal = CallContext | undefined;

/** A heuristic score at or above this (and below the threshold) asks the classifier in `uncertain` mode. */
export const UNCERTAIN_FROM = 0.2;

/** Name of the classifier guard in findings and errors. */
export const INJECTION_CLASSIFIER = 'prompt-injection-classifier';

/** The injection rule of one caller, with whether it runs in dry-run. */
export interface InjectionRule {
  readonly action: 'block' | 'flag' | 'allow';
  readonly threshold: number;
  readonly classifier: 'always' | 'uncertain' | 'never';
  readonly dryRun: boolean;
}

/** Everything one caller's requests to one model are checked with. */
export interface CompiledGuards {
  readonly prompt: PhaseRules;
  readonly output: PhaseRules;
  readonly injection: InjectionRule;
}

/** The injection verdict over a request's texts. */
export interface InjectionVerdict {
  /** Combined score (max over texts) in [0, 1]. */
  readonly score: number;
  readonly heuristic: number;
  /** The classifier's highest probability, when it ran. */
  readonly classifier?: number;
  /** Whether the score reached the threshold. */
  readonly detected: boolean;
  /** What the rule did: `block` refuses, `flag` records, `allow` ignores (dry-run: recorded). */
  readonly action: 'block' | 'flag' | 'allow';
  readonly applied: boolean;
  /** PROMPT_INJECTION findings per text (only when detected). */
  readonly findings: readonly (readonly InjectionFinding[])[];
}

/** The prompt phase's verdict over a request's texts. */
export interface PromptVerdict {
  /** The texts as the model may see them (applied redactions in place). */
  readonly texts: readonly string[];
  /** Findings per text, each with its action. */
  readonly findings: readonly (readonly RuledFinding[])[];
  readonly injection: InjectionVerdict | undefined;
  /** Overall applied action: block when any applied block, else redact, else allow. */
  readonly action: GuardAction;
}

/** One text's output verdict (non-streamed, or a stream's end). */
export interface OutputVerdict {
  readonly text: string;
  readonly findings: readonly RuledFinding[];
  /** Set when an applied block cut the text (it ends just before the finding). */
  readonly blocked: RuledFinding | undefined;
  readonly action: GuardAction;
}

class Rules implements PhaseRules {
  readonly phase: 'prompt' | 'output';
  readonly maxSpan: number;
  readonly openFrom: (text: string) => number;
  readonly #scanner: Scanner;
  readonly #actions: PhaseActions;
  readonly #allowed: ((value: string) => boolean) | undefined;
  readonly #dryPii: boolean;
  readonly #dryTerms: boolean;
  readonly #timed: { readonly budgetMs: number };

  constructor(
    phase: 'prompt' | 'output',
    scanner: Scanner,
    actions: PhaseActions,
    allowed: ((value: string) => boolean) | undefined,
    dryRun: ReadonlySet<string>,
    budgetMs: number,
  ) {
    this.phase = phase;
    this.#scanner = scanner;
    ({ maxSpan: this.maxSpan, openFrom: this.openFrom } = streamHold(scanner.detectors));
    this.#actions = actions;
    this.#allowed = allowed;
    this.#dryPii = dryRun.has('pii');
    this.#dryTerms = dryRun.has('terms');
    this.#timed = { budgetMs };
  }

  inspect(text: string, profile?: TextProfile): readonly RuledFinding[] {
    // The budget bounds long texts (the clock is read after each detector, which is all it
    // can do: every detector is linear); a short one finishes in microseconds, clock unread.
    const timed = text.length >= TIMED_FROM;
    const found = this.#scanner.scan(
      text,
      profile === undefined
        ? timed
          ? this.#timed
          : NO_OPTIONS
        : timed
          ? { budgetMs: this.#timed.budgetMs, profile }
          : { profile },
    );
    if (found.length === 0) return NONE;
    const out: RuledFinding[] = [];
    for (const f of found) {
      if (this.#allowed?.(text.slice(f.start, f.end)) === true) continue;
      const term = f.type === DENIED_TERM;
      out.push({
        ...f,
        action: this.#actions.types.get(f.type) ?? (term ? 'block' : this.#actions.default),
        dryRun: term ? this.#dryTerms : this.#dryPii,
      });
    }
    return out;
  }
}

const NONE: readonly RuledFinding[] = Object.freeze([]);
const NO_OPTIONS = Object.freeze({});
const NO_INJECTION: readonly InjectionFinding[] = Object.freeze([]);
/** The profile of '' (what a text not selected for the injection guard is scanned as). */
const EMPTY = profileText('');

/** Texts at least this long are scanned against the time budget. */
const TIMED_FROM = 256;

/** guard/injection/combine, failing closed on a classifier that returns no number. */
function combine(heuristic: number, classifier: number | undefined): number {
  try {
    return combineInjectionScore(heuristic, classifier);
  } catch (err) {
    throw new GuardUnavailableError(INJECTION_CLASSIFIER, 'error', { cause: err });
  }
}

/** The content guards of one server: compiles rules per caller and model, runs them. */
export class Guards {
  readonly options: GuardOptions;
  readonly #classify: InjectionClassifier | undefined;
  readonly #builtin: readonly Detector[] = builtinDetectors();
  /** Per merged-controls object (one per snapshot and roles) → model id → compiled rules. */
  readonly #cache = new WeakMap<DataControls, Map<string, CompiledGuards>>();
  readonly #terms = new Map<string, Detector>();

  constructor(options: GuardOptions, classify?: InjectionClassifier) {
    this.options = options;
    this.#classify = classify;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Whether an injection classifier is configured. */
  get hasClassifier(): boolean {
    return this.#classify !== undefined;
  }

  /** The compiled guards for a caller with `controls` (from `snapshot`) asking model `model`. */
  compiled(snapshot: PolicySnapshot, controls: DataControls, model: string): CompiledGuards {
    let byModel = this.#cache.get(controls);
    if (byModel === undefined)
      this.#cache.set(controls, (byModel = new Map<string, CompiledGuards>()));
    const hit = byModel.get(model);
    if (hit !== undefined) return hit;
    const compiled = this.#compile(snapshot, controls, model);
    // Bounded: model ids come from request bodies (unknown ones are refused later, but cheaply).
    if (byModel.size >= 256) byModel.clear();
    byModel.set(model, compiled);
    return compiled;
  }

  /** One automaton per distinct deny list, shared by every caller and model that has it. */
  #termsDetector(deny: readonly string[]): Detector {
    const key = deny.join('\n');
    const hit = this.#terms.get(key);
    if (hit !== undefined) return hit;
    if (this.#terms.size >= 64) this.#terms.clear();
    const d = deniedTermsDetector(deny);
    this.#terms.set(key, d);
    return d;
  }

  #compile(snapshot: PolicySnapshot, controls: DataControls, model: string): CompiledGuards {
    const forModel = snapshot.modelTerms(model);
    const deny = [...new Set([...controls.terms.deny, ...forModel.deny])];
    const allow = [...controls.terms.allow, ...forModel.allow];
    const detectors: Detector[] = [...this.#builtin, ...snapshot.patterns];
    if (deny.length > 0) detectors.push(this.#termsDetector(deny));
    const scanner = createScanner(detectors);
    const allowed = allow.length > 0 ? allowedTerms(allow) : undefined;
    const { budgetMs } = this.options;
    return {
      prompt: new Rules('prompt', scanner, controls.prompts, allowed, controls.dryRun, budgetMs),
      output: new Rules('output', scanner, controls.outputs, allowed, controls.dryRun, budgetMs),
      injection: { ...controls.injection, dryRun: controls.dryRun.has('injection') },
    };
  }

  /**
   * The prompt phase over `texts` (a chat's caller messages, or embedding inputs): detectors,
   * patterns and terms on each, redaction with the request's `redactor`, and the injection score
   * of the texts `injection` selects (all, none, or per text). The verdict says `block` when the
   * caller's rules block what was found (the caller refuses the request: 400); throws
   * GuardUnavailableError (503) when a guard fails.
   */
  checkPrompt(
    guards: CompiledGuards,
    texts: readonly string[],
    redactor: Redactor,
    options: { injection: boolean | readonly boolean[]; signal?: ClassifySignal },
  ): PromptVerdict | Promise<PromptVerdict> {
    // One profile per text, for the scan and the injection heuristics alike.
    const profiles = texts.map((t) => profileText(t, undefined, PROMPT_KEYWORDS));
    const findings = texts.map((t, i) => guards.prompt.inspect(t, profiles[i]));
    const which = options.injection;
    if (which === false) return promptVerdict(texts, findings, undefined, redactor);
    // A text not selected is scanned as empty: it scores 0 and the classifier skips it.
    const selected = which === true ? texts : texts.map((t, i) => (which[i] === true ? t : ''));
    const injection = this.checkInjection(
      guards.injection,
      selected,
      options.signal,
      which === true ? profiles : profiles.map((p, i) => (which[i] === true ? p : EMPTY)),
    );
    // Synchronous unless the classifier is consulted: most requests pay no promise for it.
    return injection instanceof Promise
      ? injection.then((v) => promptVerdict(texts, findings, v, redactor))
      : promptVerdict(texts, findings, injection, redactor);
  }

  /**
   * The injection verdict over `texts` under `rule`: synchronous from the heuristics, a promise
   * only when the rule consults the classifier for one of them. `profiles[i]`, when given, is
   * `profileText(texts[i])`.
   */
  checkInjection(
    rule: InjectionRule,
    texts: readonly string[],
    signal?: ClassifySignal,
    profiles?: readonly TextProfile[],
  ): InjectionVerdict | Promise<InjectionVerdict> {
    const reports = texts.map((t, i) => {
      const profile = profiles?.[i];
      try {
        return scanInjection(t, profile === undefined ? undefined : { profile });
      } catch (err) {
        throw new GuardUnavailableError('injection-heuristics', 'error', { cause: err });
      }
    });
    const classify = this.#classify;
    const ask =
      classify === undefined
        ? []
        : this.#toClassify(
            rule,
            texts,
            reports.map((r) => r.score),
          );
    if (ask.length === 0 || classify === undefined)
      return injectionVerdict(rule, texts, reports, ask, []);
    return classify(
      ask.map((i) => texts[i] ?? ''),
      signal,
    ).then(
      (scores) => injectionVerdict(rule, texts, reports, ask, scores),
      (err: unknown) => {
        if (err instanceof GatewayError && err.statusCode < 500 && err.statusCode !== 413)
          throw err;
        throw new GuardUnavailableError(INJECTION_CLASSIFIER, 'error', { cause: err });
      },
    );
  }
  #toClassify(
    rule: InjectionRule,
    texts: readonly string[],
    heuristic: readonly number[],
  ): number[] {
    if (rule.classifier === 'never') return [];
    const out: number[] = [];
    heuristic.forEach((h, i) => {
      if (texts[i] === '') return;
      if (rule.classifier === 'always' || (h >= UNCERTAIN_FROM && h < rule.threshold)) out.push(i);
    });
    return out;
  }

  /**
   * One whole generated text through the output rules: exactly what a stream does (redacted, cut
   * before the first applied block; findings up to that block). A text with no finding — most
   * answers — is scanned once and returned as it is; one with findings goes through the stream's
   * own code (a second scan, so that both agree by construction).
   */
  checkOutput(guards: CompiledGuards, text: string, redactor: Redactor): OutputVerdict {
    if (guards.output.inspect(text).length === 0)
      return { text, findings: NONE, blocked: undefined, action: 'allow' };
    const stream = new OutputStream(guards.output, redactor, { batch: Infinity });
    stream.push(text);
    const out = stream.end();
    const findings = stream.findings();
    return { text: out, findings, blocked: stream.blocked, action: overallAction(findings) };
  }
}

/** The prompt phase's verdict from its findings and injection verdict. */
function promptVerdict(
  texts: readonly string[],
  findings: readonly (readonly RuledFinding[])[],
  injection: InjectionVerdict | undefined,
  redactor: Redactor,
): PromptVerdict {
  let action = findings.some((f) => f.length > 0) ? overallAction(findings.flat()) : 'allow';
  if (injection?.applied === true && injection.action === 'block') action = 'block';
  const out =
    action === 'redact' ? texts.map((t, i) => redactApplied(redactor, t, findings[i])) : texts;
  return { texts: out, findings, injection, action };
}

/** Combines each text's heuristic report with the classifier's score where it was asked. */
function injectionVerdict(
  rule: InjectionRule,
  texts: readonly string[],
  reports: readonly InjectionReport[],
  ask: readonly number[],
  scores: readonly number[],
): InjectionVerdict {
  // Most prompts: no evidence and no classifier asked, nothing below can be found.
  if (ask.length === 0 && rule.threshold > 0 && reports.every((r) => r.score === 0))
    return {
      score: 0,
      heuristic: 0,
      detected: false,
      action: rule.action,
      applied: false,
      findings: reports.map(() => NO_INJECTION),
    };
  const heuristic = reports.reduce((m, r) => Math.max(m, r.score), 0);
  const classifier = scores.length === 0 ? undefined : scores.reduce((m, x) => Math.max(m, x), 0);
  const perText = reports.map((r, i) => {
    const k = ask.indexOf(i);
    return combine(r.score, k < 0 ? undefined : scores[k]);
  });
  const score = perText.reduce((m, s) => Math.max(m, s), 0);
  const detected = score >= rule.threshold;
  const findings = reports.map((r, i) => {
    const s = perText[i] ?? 0;
    if (!detected || s < rule.threshold) return [];
    if (r.findings.length > 0)
      return r.findings.map((f) => ({ ...f, score: round(Math.max(f.score, s)) }));
    // The classifier alone: the whole text is the evidence.
    const whole: InjectionFinding = {
      type: 'PROMPT_INJECTION',
      start: 0,
      end: texts[i]?.length ?? 0,
      guard: INJECTION_CLASSIFIER,
      score: round(s),
    };
    return [whole];
  });
  return {
    score: round(score),
    heuristic,
    ...(classifier === undefined ? {} : { classifier: round(classifier) }),
    detected,
    action: rule.action,
    applied: detected && !rule.dryRun && rule.action !== 'allow',
    findings,
  };
}

/** `text` with its applied redactions in place. */
export function redactApplied(
  redactor: Redactor,
  text: string,
  findings: readonly RuledFinding[] | undefined,
): string {
  if (findings === undefined || findings.length === 0) return text;
  const apply: Finding[] = findings.filter((f) => applies(f) && f.action === 'redact');
  return apply.length === 0 ? text : redactor.redact(text, apply);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
