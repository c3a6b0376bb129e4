/**
 * @module policy/types — the policy the server decides every request by: roles → scopes, and the
 * resources (model and dataset patterns) each role may act on. Deny by default.
 */

/** A decision and why (the reason is for logs and the audit trail, never for the caller). */
export interface Decision {
  allowed: boolean;
  reason: string;
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
  /** Decides one request. */
  decide(request: AccessRequest): Decision;
  /** True for a role the policy defines. */
  hasRole(name: string): boolean;
}

/** The policy area as the rest of the server sees it. */
export interface Policy {
  /** The snapshot in force now. */
  current(): PolicySnapshot;
  /** Stops watching the file. */
  close(): void;
}
