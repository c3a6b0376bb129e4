/**
 * @module http/audit-facts — what a route tells the audit stage about its request beyond what
 * the pipeline already knows (identity, decision, status): the resource with its digest, token
 * usage, prompt and output digests, and for the OAuth endpoints the client that authenticated.
 */
import type { AuditUsage } from '../audit/index.js';

/** Facts a route adds to its request's audit event (all optional). */
export interface AuditFacts {
  /** Overrides the route's scope as the event's action (`token.issue`, …). */
  action?: string;
  /** `model:use-lite@<sha256>`, `client:<id>`, … */
  resource?: string;
  /** An authenticated client with no access token (the OAuth endpoints). */
  clientId?: string;
  subject?: string;
  roles?: readonly string[];
  /** The client id a caller claimed before authenticating (kept only in aggregates). */
  claimedClientId?: string;
  usage?: AuditUsage;
  promptSha256?: string;
  outputSha256?: string;
  /** The model that answered: set on inference routes, which get a signed receipt. */
  model?: { id: string; sha256: string | null };
  details?: Record<string, unknown>;
  /** What the data controls did (types and counts, never text), by guard. */
  guard?: Record<string, unknown>;
}
