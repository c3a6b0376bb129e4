/**
 * @module audit/chain — the exact encoding of the hash chain, shared by the writer and `verify`.
 *
 * An event's body is the {@link AuditEventInput} with every field present (null where it does
 * not apply) plus `chain` and `seq`, and without `hash`/`prevHash`. Its text is the RFC 8785
 * canonical JSON of that body, and
 *
 *     hash = lower-hex( SHA-256( UTF-8( text ) ‖ UTF-8( prevHash ) ) )
 *
 * where `prevHash` is the previous event's hash as 64 lower-case hex characters (64 `0`s for
 * seq 1). Putting `chain` and `seq` inside the hashed text binds every event to its position.
 */
import { createHash } from 'node:crypto';
import { canonicalize, type Canonical } from './canonical.js';
import type { AuditEventInput } from './types.js';

/** The prev_hash of a chain's first event. */
export const ZERO_HASH = '0'.repeat(64);

/** The fields of an event body, in no particular order (canonical JSON sorts them). */
export const BODY_KEYS = [
  'chain',
  'seq',
  'time',
  'requestId',
  'issuer',
  'subject',
  'clientId',
  'roles',
  'action',
  'resource',
  'decision',
  'reason',
  'status',
  'latencyMs',
  'source',
  'usage',
  'promptSha256',
  'outputSha256',
  'guard',
  'details',
] as const;

/** The canonical text of `event` at (`chain`, `seq`). Throws on values JSON cannot carry. */
export function eventText(event: AuditEventInput, chain: string, seq: number): string {
  const body = {
    chain,
    seq,
    time: event.time,
    requestId: event.requestId ?? null,
    issuer: event.issuer ?? null,
    subject: event.subject ?? null,
    clientId: event.clientId ?? null,
    roles: [...event.roles],
    action: event.action,
    resource: event.resource ?? null,
    decision: event.decision,
    reason: event.reason,
    status: event.status ?? null,
    latencyMs: event.latencyMs ?? null,
    source: event.source ?? null,
    usage: event.usage ?? null,
    promptSha256: event.promptSha256 ?? null,
    outputSha256: event.outputSha256 ?? null,
    guard: event.guard ?? null,
    details: event.details ?? null,
  };
  return canonicalize(body as unknown as Canonical);
}

/** The link hash of an event whose canonical text is `text`. */
export function linkHash(text: string, prevHash: string): string {
  return createHash('sha256').update(text, 'utf8').update(prevHash, 'utf8').digest('hex');
}
