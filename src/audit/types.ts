/**
 * @module audit/types — what the audit log records and the interface the rest of the server
 * records through. One event per protected request, token issue or refusal, revocation,
 * administration action, policy reload and denial; events of one replica form one hash chain
 * (`hash = SHA-256(canonical(event) ‖ prev_hash)`), and the chain head is signed in checkpoints.
 * Prompts and outputs appear only as SHA-256 digests, never as text; no token or secret ever does.
 */

/** What was decided. `error`: allowed, but the request failed (5xx, model error, cancelled). */
export type AuditDecision = 'allow' | 'deny' | 'error';

/** Token counts of an inference request. */
export interface AuditUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * One event as the server hands it to the log (before it is chained). Fields that do not apply
 * are `null`, never absent, so every event has the same keys and one canonical form.
 */
export interface AuditEventInput {
  /** Epoch milliseconds. */
  time: number;
  /** The HTTP request id, or null for events no request caused (reload, checkpoint, purge). */
  requestId: string | null;
  /** Who: issuer and subject of the token, the OAuth client id, the roles. Null when unknown. */
  issuer: string | null;
  subject: string | null;
  clientId: string | null;
  roles: readonly string[];
  /** The scope exercised (`inference:invoke`) or an event type (`token.issue`, `policy.reload`). */
  action: string;
  /** `model:use-lite@<sha256>`, `client:<id>`, `key:<kid>`, `policy:<sha256>`, or null. */
  resource: string | null;
  decision: AuditDecision;
  /** Why, for the auditor (`allowed: role developer grants inference:invoke on use-lite`). */
  reason: string;
  /** HTTP status sent, or null for events with no response. */
  status: number | null;
  /** Milliseconds from request start to the decision or the response. */
  latencyMs: number | null;
  /** Source address of the request (after trustProxy), or null. */
  source: string | null;
  usage: AuditUsage | null;
  /** Lower-case hex SHA-256 of the prompt (UTF-8 of the canonical request text) and output. */
  promptSha256: string | null;
  outputSha256: string | null;
  /**
   * Guard findings of the data controls (types and counts, never text): filled by the guard
   * stage (issue 9); null until then.
   */
  guard: Readonly<Record<string, unknown>> | null;
  /** Event-specific plain facts (counts of an aggregated refusal interval, a policy digest…). */
  details: Readonly<Record<string, unknown>> | null;
}

/** Where an event landed in its chain. */
export interface ChainPosition {
  /** The chain (one per replica). */
  chain: string;
  /** 1-based position in the chain. */
  seq: number;
  /** Lower-case hex SHA-256 that links this event. */
  hash: string;
}

/** An event as stored: the input plus its place in the chain. */
export interface AuditEvent extends AuditEventInput, ChainPosition {
  /** Hash of the previous event of the chain (64 zeros for the first). */
  prevHash: string;
}

/** Records events durably. */
/** What the writer tells metrics (write latency). */
export interface AuditWriteObserver {
  /** A transaction of `events` events was committed; the store took `seconds`. */
  written(events: number, seconds: number): void;
  /** A write failed: the log refuses audited requests until the store answers again. */
  failed(): void;
}

/** Events waiting for their commit (queued or in the transaction in flight). */
export interface AuditBacklog {
  readonly events: number;
  /** Seconds since the oldest of them was recorded (0 when none waits). */
  readonly oldestSeconds: number;
}

export interface AuditLog {
  /**
   * Appends one event and resolves once it is durable (fsync'd / committed), with its place in
   * the chain. Concurrent calls are written together (group commit). Rejects with
   * `AuditUnavailableError` (503) when the store cannot be written; the caller must then refuse
   * the request rather than answer it unrecorded.
   */
  record(event: AuditEventInput): Promise<ChainPosition>;
  /** This replica's chain id. */
  readonly chain: string;
  /** Whether the last write succeeded (for `/readyz`). */
  healthy(): boolean;
  /** Reports every commit and failed write to `observer` from now on (metrics). */
  observe?(observer: AuditWriteObserver): void;
  /** Events not yet durable, and how long the oldest of them has waited (metrics: the lag). */
  backlog?(): AuditBacklog;
  /** Writes what is pending and a final signed checkpoint. */
  close(): Promise<void>;
}
