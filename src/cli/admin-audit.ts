/**
 * @module cli/admin-audit — administration done with the CLI on the store (clients, keys) is
 * recorded like the server's own: one event on this host's chain (`audit.replicaId`, shared
 * safely with a running server through compare-and-append), signed into the chain's
 * checkpoints with the current key. The actor is the local operating-system user; the event is
 * durable before the command reports success.
 */
import { userInfo } from 'node:os';
import { chainId, createAuditLog, jwsSigner, type AuditEventInput } from '../audit/index.js';
import { openKeyRing } from '../auth/index.js';
import type { Config } from '../config/index.js';
import { systemClock } from '../lib/clock.js';
import type { Store } from '../store/index.js';

/** What the command did. */
export interface AdminAction {
  /** `client.create`, `client.revoke`, `key.rotate`… */
  action: string;
  /** `client:<id>`, `key:<kid>` */
  resource: string;
  /** The command line, e.g. `gatehouse clients create`. */
  command: string;
  details: Record<string, unknown>;
}

/** The local actor: `local:<os user>`. */
function actor(): string {
  try {
    return `local:${userInfo().username}`;
  } catch {
    return 'local:unknown';
  }
}

/** The event of an administration action done locally. */
export function adminEvent(a: AdminAction, time: number): AuditEventInput {
  return {
    time,
    requestId: null,
    issuer: null,
    subject: actor(),
    clientId: null,
    roles: [],
    action: a.action,
    resource: a.resource,
    decision: 'allow',
    reason: `local administration (${a.command}) on the data dir`,
    status: null,
    latencyMs: null,
    source: 'cli',
    usage: null,
    promptSha256: null,
    outputSha256: null,
    guard: null,
    details: a.details,
  };
}

/** Records `action` durably on this host's chain (rejects if the audit log cannot be written). */
export async function recordAdmin(
  config: Config,
  store: Store,
  action: AdminAction,
): Promise<void> {
  if (!config.audit.enabled) return;
  const ring = await openKeyRing(config, store, systemClock);
  const log = createAuditLog({
    store: store.audit,
    chain: chainId(config),
    sign: jwsSigner(() => ring.signingKey()),
    issuer: config.auth.issuer,
    checkpointEvery: config.audit.checkpointEvery,
  });
  try {
    await log.record(adminEvent(action, systemClock()));
  } finally {
    await log.close();
  }
}
