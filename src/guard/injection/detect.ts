/**
 * @module guard/injection/detect — the heuristic prompt-injection detector: phrase rules on the
 * folded skeleton (and its ROT13), role/delimiter spoofing, hidden text and encoded payloads
 * (decoded and re-scanned), combined into one score in [0, 1] with the spans that contributed.
 * Text that talks *about* prompt injection, and code, weigh less: quoting an attack is not one.
 */
import { profileText, type TextProfile } from '../profile.js';
import { DEFAULT_DECODE_LIMITS, findEncoded, type DecodeLimits } from './encoded.js';
import { findHidden } from './hidden.js';
import { foldAndMatch, PROMPT_KEYWORDS } from './match.js';
import { skeletonBuffer, skeletonEnd } from './skeleton.js';
import { findSpoofing } from './spoofing.js';

/** Where a signal came from. */
export type InjectionSource = 'phrase' | 'spoofing' | 'hidden' | 'encoded';

/** One piece of evidence on `[start, end)` (UTF-16 offsets into the scanned text). */
export interface InjectionSignal {
  readonly source: InjectionSource;
  readonly kind: string;
  readonly start: number;
  readonly end: number;
  /** Contribution in (0, 1] after context adjustments. */
  readonly weight: number;
}

/** A finding in the shape of the guard contract. */
export interface InjectionFinding {
  readonly type: 'PROMPT_INJECTION';
  readonly start: number;
  readonly end: number;
  readonly guard: string;
  readonly score: number;
}

/** The detector's answer for one text. */
export interface InjectionReport {
  /** Combined heuristic score in [0, 1]; deterministic for a given text. */
  readonly score: number;
  readonly signals: readonly InjectionSignal[];
  /** The contributing spans as guard findings (overlapping signals merged, strongest score kept). */
  readonly findings: readonly InjectionFinding[];
}

/** Options of `scanInjection`. */
export interface InjectionOptions {
  readonly decode?: DecodeLimits;
  /** `guard` name written into findings. */
  readonly guard?: string;
  /**
   * `profileText(text)` when the caller has it already (the prompt phase profiles a text once
   * for every guard, with PROMPT_KEYWORDS so that the profile also says whether a phrase rule
   * can match); by default the text is profiled here. Checks whose characters it lacks are
   * skipped: the report is the same as with every check run (OPEN_PROFILE).
   */
  readonly profile?: TextProfile;
}

/** The score at or above which a text counts as an injection when no role overrides it. */
export const DEFAULT_INJECTION_THRESHOLD = 0.5;
/** Guard name used in findings by default. */
export const INJECTION_GUARD = 'injection-heuristics';

const META =
  /prompt[\s-]?injection|jailbreak(?:s|ing)?\b|injection attacks?|\battackers?\b|adversarial|red[\s-]?team|\bOWASP\b|LLM security|security (?:research|article|blog|team)|\bdetect(?:s|ed|ion|or|ing)?\b|classifier|Prompt-Injektion|injection de prompt|inyección de (?:prompt|instrucciones)|iniezione di prompt|injeção de prompt|инъекци|提示注入|提示词注入|プロンプトインジェクション|프롬프트 인젝션/i;
const CODE =
  /```|^[ \t]*(?:import|from|def|const|let|var|function|class|public|private|return|#include)\b|=>|console\.log|\bprint\(|messages\s*=|\.(?:create|append|push)\(/m;
const QUOTES = new Set(['"', "'", '`', '“', '”', '‘', '’', '«', '»', '„', '「', '」', '『', '』']);
const QUOTE_SLACK = 4;
const CODE_DAMPED = new Set([
  'template-token',
  'json-role',
  'role-turn',
  'role-header',
  'system-block',
]);

function quoted(text: string, start: number, end: number): boolean {
  // A few characters of slack: Japanese puts a verb ending (して) between the match and 」.
  for (let i = Math.max(0, start - QUOTE_SLACK); i < start; i++)
    if (QUOTES.has(text[i] ?? '')) return true;
  for (let j = end; j < Math.min(text.length, end + QUOTE_SLACK); j++)
    if (QUOTES.has(text[j] ?? '')) return true;
  return false;
}

/** A signal before context adjustment. */
interface RawSignal {
  readonly source: InjectionSource;
  readonly kind: string;
  readonly start: number;
  readonly end: number;
  readonly weight: number;
}

// A reused skeleton buffer: scanPlain never runs inside itself, and no view of it outlives it.
// Texts longer than this get their own buffer, so a huge prompt is not kept alive in it.
const SCRATCH_MAX = 64 * 1024;
const scratch = skeletonBuffer(1024);

/** Phrase (and with `rotate`, ROT13 phrase) and spoofing signals of a (decoded) text. */
function scanPlain(text: string, rotate: boolean, profile?: TextProfile): RawSignal[] {
  const sk = text.length <= SCRATCH_MAX ? scratch : skeletonBuffer(text.length);
  const out: RawSignal[] = [];
  // a profile made with the prompt rules' probe says whether their scan can find anything
  const keyword = rotate ? profile?.keyword : undefined;
  for (const m of foldAndMatch(text, sk, rotate, keyword)) {
    // ROT13 leaves non-Latin letters alone: a match there is the plain one again.
    if (m.rot13 && !hasLatin(sk.codes, m.start, m.end)) continue;
    out.push({
      source: m.rot13 ? 'encoded' : 'phrase',
      kind: m.rot13 ? 'rot13' : m.rule.kind,
      start: sk.start[m.start] ?? 0,
      end: skeletonEnd(text, sk.start[m.end - 1] ?? text.length - 1),
      weight: m.rule.weight,
    });
  }
  for (const s of findSpoofing(text, profile)) out.push({ source: 'spoofing', ...s });
  return out;
}

/** Whether `codes[start, end)` holds a letter a–z (as `/[a-z]/` on that slice). */
function hasLatin(codes: Uint16Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = codes[i] ?? 0;
    if (c >= 0x61 && c <= 0x7a) return true;
  }
  return false;
}

/** Scans `text` for prompt-injection evidence and scores it. Never throws on any string. */
export function scanInjection(text: string, options: InjectionOptions = {}): InjectionReport {
  const guard = options.guard ?? INJECTION_GUARD;
  const profile = options.profile ?? profileText(text, undefined, PROMPT_KEYWORDS);
  // Both only adjust phrase and spoofing weights: tested once, and only when one is found.
  let meta: boolean | undefined;
  let code: boolean | undefined;
  const signals: InjectionSignal[] = [];
  for (const s of scanPlain(text, true, profile)) {
    let weight = s.weight;
    if (s.source === 'phrase' && (meta ??= META.test(text)))
      weight *= quoted(text, s.start, s.end) ? 0.3 : 0.5;
    if (
      s.source === 'spoofing' &&
      CODE_DAMPED.has(s.kind) &&
      ((meta ??= META.test(text)) || (code ??= CODE.test(text)))
    )
      weight *= 0.5;
    signals.push({ ...s, weight });
  }
  for (const h of findHidden(text, profile)) {
    signals.push({ source: 'hidden', kind: h.kind, start: h.start, end: h.end, weight: h.weight });
    if (h.payload !== undefined && h.payload.length > 0 && payloadIsHostile(h.payload)) {
      signals.push({
        source: 'hidden',
        kind: `${h.kind}-payload`,
        start: h.start,
        end: h.end,
        weight: 0.95,
      });
    }
  }
  for (const e of findEncoded(text, options.decode ?? DEFAULT_DECODE_LIMITS, profile)) {
    if (payloadIsHostile(e.payload)) {
      signals.push({
        source: 'encoded',
        kind: e.encoding,
        start: e.start,
        end: e.end,
        weight: 0.9,
      });
    }
  }
  if (signals.length === 0) return { score: 0, signals, findings: [] }; // what combine gives
  const score = combine(signals);
  return { score, signals, findings: toFindings(signals, guard) };
}

/** One finding per run of overlapping signals (two rules often match one phrase). */
function toFindings(signals: readonly InjectionSignal[], guard: string): InjectionFinding[] {
  const sorted = [...signals].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { start: number; end: number; score: number }[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last !== undefined && s.start < last.end) {
      last.end = Math.max(last.end, s.end);
      last.score = Math.max(last.score, s.weight);
    } else out.push({ start: s.start, end: s.end, score: s.weight });
  }
  return out.map((f) => ({
    type: 'PROMPT_INJECTION',
    start: f.start,
    end: f.end,
    guard,
    score: round(f.score),
  }));
}

function payloadIsHostile(payload: string): boolean {
  return scanPlain(payload, false).some((s) => s.weight >= DEFAULT_INJECTION_THRESHOLD);
}

/**
 * Noisy-OR over signal kinds: each kind counts once (its strongest signal), so a pasted chat
 * transcript with many "assistant:" lines is not an attack; in-word zero-width characters add
 * up to three occurrences, since splitting words is the point of that trick.
 */
function combine(signals: readonly InjectionSignal[]): number {
  const byKind = new Map<string, number[]>();
  for (const s of signals) {
    const list = byKind.get(s.kind) ?? [];
    list.push(s.weight);
    byKind.set(s.kind, list);
  }
  let keep = 1;
  for (const [kind, weights] of byKind) {
    weights.sort((a, b) => b - a);
    const n = kind === 'zero-width-in-word' ? 3 : 1;
    for (const w of weights.slice(0, n)) keep *= 1 - Math.min(1, Math.max(0, w));
  }
  return round(1 - keep);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
