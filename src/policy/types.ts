/**
 * @module policy/types — the policy the server decides every request by: roles → scopes, and the
 * resources (model and dataset patterns) each role may act on. Deny by default.
 */

import type { Detector } from '../guard/types.js';
import type { LimitsSpec } from './schema.js';

/** A decision and why (the reason is for logs and the audit trail, never for the caller). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/**
 * A decision on one request as the pipeline records it: the action and resource decided on ride
 * along, so the audit stage reads one object (snapshots cache and share these; never mutate).
 */
export interface RequestDecision extends Decision {
  readonly action: string;
  readonly resource: string | undefined;
}

/** What is asked: who (roles and the scopes its token carries), may do what, on what. */
export interface AccessRequest {
  roles: readonly string[];
  /** The scopes the token carries (as verified); the decision never exceeds them. */
  scopes: ReadonlySet<string>;
  /** A scope, e.g. `inference:invoke`. */
  action: string;
  /** `model:<id>`, `dataset:<name>`, or undefined for actions on no particular resource. */
  resource?: string | undefined;
}

/** The policy in force. Replaced as a whole on reload; a decision reads one snapshot. */
export interface PolicySnapshot {
  /** Lower-case hex SHA-256 of the policy file's bytes (of the built-in document when none). */
  readonly sha256: string;
  /** `builtin` or the file path. */
  readonly source: string;
  /** The policy as a plain JSON-able document (for `GET /v1/policy`). */
  readonly document: unknown;
  /** The scopes `roles` grant (unknown roles grant nothing). */
  grantedScopes(roles: readonly string[]): ReadonlySet<string>;
  /** Decides one request (synchronous; cached per snapshot). */
  decide(request: AccessRequest): RequestDecision;
  /** True for a role the policy defines. */
  hasRole(name: string): boolean;
  /** The roles the policy defines, in file order. */
  roleNames(): readonly string[];
  /**
   * The data controls that apply to a caller with `roles`: for each control the most permissive
   * setting among its roles the policy defines (a caller has what its best role allows), the
   * strictest when none is defined.
   */
  dataControls(roles: readonly string[]): DataControls;
  /**
   * The rate limits and token quotas of a caller with `roles` (the policy's `limits`), merged as
   * the data controls are: a top-level budget holds only if every role the policy defines sets
   * it (the largest value wins), and so does a per-model budget: only if every such role names
   * the pattern with that budget (a caller has what its best role allows). No defined role: none.
   */
  rateLimits(roles: readonly string[]): LimitsSpec;
  /** The operator's detectors from `guard.patterns`, compiled once per snapshot. */
  readonly patterns: readonly Detector[];
  /** The term lists for model `id` from `guard.models` (its own entry plus `*`). */
  modelTerms(id: string): { readonly deny: readonly string[]; readonly allow: readonly string[] };
  /**
   * May a version of `model` be trained on a dataset carrying `labels`? (`training.labels`: a
   * listed label allows only the models its patterns match; `pii` allows none unless listed.)
   */
  trainingUse(labels: readonly string[], model: string): Decision;
}

/** A caller's data controls (see the policy file's `dataControls`). */
export interface DataControls {
  /** What happens to system and developer messages the caller sends. */
  readonly systemMessages: 'allow' | 'strip' | 'refuse';
  /** Request-shape limits (undefined: none). */
  readonly maxMessages?: number | undefined;
  readonly maxPromptTokens?: number | undefined;
  readonly maxTokens?: number | undefined;
  readonly maxInputs?: number | undefined;
  readonly maxInputChars?: number | undefined;
  /** What happens to each finding type in prompts (`dataControls.prompts`). */
  readonly prompts: PhaseActions;
  /** …and in generated text (`dataControls.outputs`). */
  readonly outputs: PhaseActions;
  readonly injection: InjectionControls;
  /** Terms refused (`deny`) and values never treated as sensitive (`allow`). */
  readonly terms: { readonly deny: readonly string[]; readonly allow: readonly string[] };
  /** Guards whose verdicts are recorded, not applied. */
  readonly dryRun: ReadonlySet<'pii' | 'injection' | 'terms'>;
}

/** The action per finding type of one phase. */
export interface PhaseActions {
  /** For every type not in `types`. */
  readonly default: 'allow' | 'redact' | 'block';
  readonly types: ReadonlyMap<string, 'allow' | 'redact' | 'block'>;
}

/** What the prompt-injection guard does for a caller. */
export interface InjectionControls {
  /** At or above `threshold`: refuse (`block`), record only (`flag`), or ignore (`allow`). */
  readonly action: 'block' | 'flag' | 'allow';
  readonly threshold: number;
  /** When the `prompt-injection` classifier is consulted, if it is configured. */
  readonly classifier: 'always' | 'uncertain' | 'never';
}

/** What a (re)load did, told to {@link Policy.onReload} listeners (the audit log records it). */
export interface ReloadEvent {
  /** Whether the new file is now in force; false: refused, the previous policy stays. */
  ok: boolean;
  /** SHA-256 (lower-case hex) of the file's bytes as read; null when it could not be read. */
  sha256: string | null;
  /** The file path. */
  source: string;
  /** Why it was refused (names the key and line), when `ok` is false. */
  error?: string;
  /** The digest of the policy in force before this event. */
  previousSha256: string;
}

/** The policy area as the rest of the server sees it. */
export interface Policy {
  /** The snapshot in force now. */
  current(): PolicySnapshot;
  /**
   * Calls `listener` after every reload attempt of the file (a change seen by the watcher or a
   * {@link check}); returns a function that removes it. Listeners must not throw.
   */
  onReload(listener: (event: ReloadEvent) => void): () => void;
  /**
   * Reads the file now and, if its bytes changed, reloads (or refuses) it as the watcher would;
   * returns the event, or undefined when nothing changed or there is no file.
   */
  check(): ReloadEvent | undefined;
  /** Stops watching the file. */
  close(): void;
}
