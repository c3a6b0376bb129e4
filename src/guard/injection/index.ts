/**
 * @module guard/injection — heuristic prompt-injection detection (phrases in many languages,
 * role/delimiter spoofing, hidden text, encoded payloads) with one combined score per text.
 */
export {
  DEFAULT_INJECTION_THRESHOLD,
  INJECTION_GUARD,
  scanInjection,
  type InjectionFinding,
  type InjectionOptions,
  type InjectionReport,
  type InjectionSignal,
  type InjectionSource,
} from './detect.js';
export { combineInjectionScore, INJECTION_CLASSIFIER_FLOOR } from './combine.js';
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './encoded.js';
export { PROMPT_KEYWORDS } from './match.js';
export type { PhraseKind } from './phrases.js';
