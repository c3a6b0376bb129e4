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
import { hash } from 'node:crypto';
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

/** The body of `event` at (`chain`, `seq`): what is hashed, as a plain value. */
export function eventBody(event: AuditEventInput, chain: string, seq: number): Canonical {
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
  return body as unknown as Canonical;
}

// Each writes exactly what `canonicalize` writes for its value (and defers to it for anything
// unexpected), so the fixed-shape encoder below is RFC 8785 by construction.
const j = JSON.stringify;
const general = (v: unknown): string => canonicalize((v ?? null) as Canonical);
const str = (v: string | null | undefined): string => (typeof v === 'string' ? j(v) : general(v));
const num = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? j(v) : general(v);

function strings(list: readonly string[]): string {
  const items: unknown = list;
  if (!Array.isArray(items)) return canonicalize([...list]);
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const v: unknown = list[i];
    if (typeof v !== 'string') return canonicalize([...list]);
    out += (i === 0 ? '' : ',') + j(v);
  }
  return `${out}]`;
}

const USAGE_KEYS = new Set(['completionTokens', 'promptTokens']);

function usage(u: AuditEventInput['usage'] | undefined): string {
  if (u == null || typeof u !== 'object') return general(u);
  const keys = Object.keys(u);
  if (
    keys.length === 2 &&
    keys.every((k) => USAGE_KEYS.has(k)) &&
    typeof u.completionTokens === 'number' &&
    typeof u.promptTokens === 'number'
  ) {
    return `{"completionTokens":${num(u.completionTokens)},"promptTokens":${num(u.promptTokens)}}`;
  }
  return general(u);
}

/**
 * The canonical text of `event` at (`chain`, `seq`): `canonicalize(eventBody(…))`, written with
 * the body's members in their precomputed sorted order (it runs once per request). A field whose
 * member `canonicalize` would leave out (undefined) takes the general path. Throws on values JSON
 * cannot carry.
 */
export function eventText(event: AuditEventInput, chain: string, seq: number): string {
  const e = event;
  if (
    (chain as unknown) === undefined ||
    (seq as unknown) === undefined ||
    (e.time as unknown) === undefined ||
    (e.action as unknown) === undefined ||
    (e.decision as unknown) === undefined ||
    (e.reason as unknown) === undefined
  ) {
    return canonicalize(eventBody(e, chain, seq));
  }
  return (
    `{"action":${str(e.action)},"chain":${str(chain)},"clientId":${str(e.clientId)},` +
    `"decision":${str(e.decision)},"details":${general(e.details)},"guard":${general(e.guard)},` +
    `"issuer":${str(e.issuer)},"latencyMs":${num(e.latencyMs)},` +
    `"outputSha256":${str(e.outputSha256)},"promptSha256":${str(e.promptSha256)},` +
    `"reason":${str(e.reason)},"requestId":${str(e.requestId)},"resource":${str(e.resource)},` +
    `"roles":${strings(e.roles)},"seq":${num(seq)},"source":${str(e.source)},` +
    `"status":${num(e.status)},"subject":${str(e.subject)},"time":${num(e.time)},` +
    `"usage":${usage(e.usage)}}`
  );
}

/**
 * The link hash of an event whose canonical text is `text`. One-shot over `text + prevHash`:
 * the UTF-8 of a concatenation is the concatenation of the UTF-8s (prevHash is ASCII hex).
 */
export function linkHash(text: string, prevHash: string): string {
  return hash('sha256', text + prevHash, 'hex');
}
