/**
 * @module guard — the data controls' public surface: what a caller may send (system messages,
 * request limits), the PII and secret detectors with redaction, and the prompt-injection
 * heuristics. Each guard is a pure function of plain values; `http/` calls them in order.
 */
export type * from './types.js';
export { BUILTIN_FINDING_TYPES, isBuiltinFindingType } from './types.js';
export {
  guardSystemMessages,
  SystemMessageRefusedError,
  type GuardedMessage,
  type SystemMessageRule,
  type SystemMessageVerdict,
} from './system-messages.js';
export { capMaxTokens, checkInputs, checkMessages, LimitExceededError } from './limits.js';
export {
  createScanner,
  GuardUnavailableError,
  scan,
  type ScanOptions,
  type Scanner,
} from './scan.js';
export { Redactor, redactText } from './redact.js';
export {
  builtinDetectors,
  compileCustomPatterns,
  unsafeReason,
  UnsafePatternError,
  type CustomPattern,
} from './detectors/index.js';
export * from './injection/index.js';
export { DENIED_TERM, allowedTerms, deniedTermsDetector, foldTerm } from './terms.js';
export { OutputStream, type OutputStreamOptions } from './stream.js';
export {
  applies,
  type GuardAction,
  type GuardPhase,
  type PhaseRules,
  type RuledFinding,
} from './rules.js';
export {
  Guards,
  INJECTION_CLASSIFIER,
  redactApplied,
  UNCERTAIN_FROM,
  type CompiledGuards,
  type GuardOptions,
  type InjectionClassifier,
  type InjectionRule,
  type InjectionVerdict,
  type OutputVerdict,
  type PromptVerdict,
} from './pipeline.js';
export {
  ContentBlockedError,
  countTypes,
  injectionRecord,
  overallAction,
  phaseRecord,
} from './verdicts.js';
