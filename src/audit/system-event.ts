/**
 * @module audit/system-event — the event of something the server itself did (a policy reload, a
 * purge, the end of an outage): no request, no caller, every request-only field null, so each
 * such event has the same keys as any other and one canonical form.
 */
import type { AuditEventInput } from './types.js';

/** What distinguishes one system event from another. */
export type SystemEventFacts = Pick<
  AuditEventInput,
  'time' | 'issuer' | 'action' | 'resource' | 'decision' | 'reason' | 'details'
>;

/** A full event input for `facts`, the request and caller fields null. */
export function systemEvent(facts: SystemEventFacts): AuditEventInput {
  return {
    requestId: null,
    subject: null,
    clientId: null,
    roles: [],
    status: null,
    latencyMs: null,
    source: null,
    usage: null,
    promptSha256: null,
    outputSha256: null,
    guard: null,
    ...facts,
  };
}
