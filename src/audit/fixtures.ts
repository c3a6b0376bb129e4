/**
 * @module audit/fixtures — shared by the audit tests and the bench: a plausible event, a real
 * signing key with its public JWKS, and a store wrapper that counts appends (it delegates every
 * call to the real store; it only watches).
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { AuditStore } from '../store/index.js';
import { jwsSigner, type PayloadSigner } from './checkpoint.js';
import type { AuditEventInput } from './types.js';

/** An inference event; `over` replaces fields. */
export function anEvent(over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    time: 1_764_600_000_000,
    requestId: `req-${randomUUID()}`,
    issuer: 'http://127.0.0.1:8080',
    subject: 'alice',
    clientId: 'client-1',
    roles: ['developer'],
    action: 'inference:invoke',
    resource: `model:echo@${'ab'.repeat(32)}`,
    decision: 'allow',
    reason: 'allowed: role developer grants inference:invoke on echo',
    status: 200,
    latencyMs: 12,
    source: '127.0.0.1',
    usage: { promptTokens: 5, completionTokens: 7 },
    promptSha256: 'cd'.repeat(32),
    outputSha256: 'ef'.repeat(32),
    guard: null,
    details: null,
    ...over,
  };
}

/** A fresh ES256 signing key: its signer and the public JWKS that verifies it. */
export async function aSigningKey(kid = `k-${randomUUID()}`): Promise<{
  sign: PayloadSigner;
  jwks: { keys: JWK[] };
}> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { sign: jwsSigner(() => ({ kid, alg: 'ES256', privateKey })), jwks: { keys: [jwk] } };
}

/** The real `store` with a count of its append calls and their sizes. */
export function watched(store: AuditStore): { store: AuditStore; batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    store: {
      head: (c) => store.head(c),
      append: (c, after, rows) => {
        batches.push(rows.length);
        return store.append(c, after, rows);
      },
      addCheckpoint: (cp) => store.addCheckpoint(cp),
      chains: () => store.chains(),
      events: (c, a, l) => store.events(c, a, l),
      checkpoints: (c, a, l) => store.checkpoints(c, a, l),
      lastCheckpoint: (c) => store.lastCheckpoint(c),
      query: (q, after, limit) => store.query(q, after, limit),
      purgePoint: (c, before) => store.purgePoint(c, before),
      addPurge: (r) => store.addPurge(r),
      purges: (c) => store.purges(c),
      deleteThrough: (c, s, l) => store.deleteThrough(c, s, l),
    },
  };
}
