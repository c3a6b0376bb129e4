/**
 * @module audit/anonymous — refusals that come before any identity is known (a garbage or
 * expired token, a wrong client secret, a body too large to read) are recorded AGGREGATED, not
 * one event each: per interval, one event per (action, reason, claimed client id, source
 * address) with its count. A flood of them therefore costs the audit log a bounded number of
 * events per interval — at most `maxKeys` + 1 — whatever its rate, and never waits on a disk
 * write on the refusing path. Keys beyond `maxKeys` in an interval are folded into one
 * catch-all key per (action, reason) with no client or source, so the counts stay exact.
 */
import type { Clock } from '../lib/clock.js';
import type { AuditEventInput } from './types.js';

/** One refusal of an unidentified caller. */
export interface AnonymousRefusal {
  /** What was attempted: the route's scope, or `token.issue`, `token.revoke`, … */
  action: string;
  /** A short stable code: `expired`, `bad_signature`, `invalid_client`, `payload_too_large`… */
  reason: string;
  /** The client id the caller claimed (never verified), or null. */
  clientId: string | null;
  /** The source address, or null. */
  source: string | null;
  status: number;
}

export interface AnonymousFailuresOptions {
  /** Appends an event (the audit log's `record`). */
  record: (event: AuditEventInput) => Promise<unknown>;
  clock: Clock;
  /** Length of one aggregation interval, ms. */
  intervalMs: number;
  /** Distinct keys kept per interval before folding into the catch-all. */
  maxKeys: number;
  /** Told when writing an aggregate failed (the store is down); the counts are then lost. */
  onError: (error: unknown) => void;
}

interface Bucket {
  refusal: AnonymousRefusal;
  count: number;
  first: number;
  last: number;
}

/** Counts anonymous refusals and writes them as one event per key and interval. */
export class AnonymousFailures {
  readonly #o: AnonymousFailuresOptions;
  #buckets = new Map<string, Bucket>();
  #timer: NodeJS.Timeout | undefined;
  #since = 0;

  constructor(options: AnonymousFailuresOptions) {
    this.#o = options;
  }

  /** Counts one refusal; cheap and synchronous. */
  note(refusal: AnonymousRefusal): void {
    const now = this.#o.clock();
    let key = `${refusal.action}\0${refusal.reason}\0${refusal.status}\0${refusal.clientId ?? ''}\0${refusal.source ?? ''}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined && this.#buckets.size >= this.#o.maxKeys) {
      key = `${refusal.action}\0${refusal.reason}\0${refusal.status}\0*`;
      bucket = this.#buckets.get(key);
      refusal = { ...refusal, clientId: null, source: null };
    }
    if (bucket === undefined) {
      bucket = { refusal, count: 0, first: now, last: now };
      this.#buckets.set(key, bucket);
    }
    bucket.count++;
    bucket.last = now;
    if (this.#timer === undefined) {
      this.#since = now;
      this.#timer = setTimeout(() => void this.flush(), this.#o.intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes one event per key counted since the last flush. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const buckets = this.#buckets;
    if (buckets.size === 0) return;
    this.#buckets = new Map();
    const since = this.#since;
    const until = this.#o.clock();
    const writes = [...buckets.values()].map((b) =>
      this.#o.record(event(b, since, until)).catch(this.#o.onError),
    );
    await Promise.all(writes);
  }
}

function event(b: Bucket, since: number, until: number): AuditEventInput {
  const r = b.refusal;
  return {
    time: until,
    requestId: null,
    issuer: null,
    subject: null,
    clientId: r.clientId,
    roles: [],
    action: r.action,
    resource: null,
    decision: 'deny',
    reason: `aggregated: ${r.reason}`,
    status: r.status,
    latencyMs: null,
    source: r.source,
    usage: null,
    promptSha256: null,
    outputSha256: null,
    guard: null,
    details: {
      aggregated: true,
      count: b.count,
      intervalStart: since,
      intervalEnd: until,
      firstAt: b.first,
      lastAt: b.last,
      clientIdVerified: false,
    },
  };
}
