/**
 * @module audit/retention — `audit.retentionDays`: events older than the retention are deleted
 * from each chain's start, and the chain stays verifiable: before anything is deleted, a signed
 * purge record (`typ: gatehouse-purge+jwt`, claims `{iss, chain, seq, hash, iat}` of the last
 * purged event) is stored, from which verify restarts the chain. Each purge is itself an audit
 * event (`audit.purge`), recorded first: when the log cannot record it, nothing is purged.
 * Deletion runs in rounds of bounded size and resumes after a crash.
 */
import { systemEvent } from './system-event.js';
import type { Clock } from '../lib/clock.js';
import type { AuditStore } from '../store/index.js';
import { PURGE_TYP, type PayloadSigner } from './checkpoint.js';
import type { AuditLog } from './types.js';

export interface PurgeOptions {
  store: AuditStore;
  /** Where the purge events are recorded (the server's own log). */
  log: AuditLog;
  sign: PayloadSigner;
  /** `iss` of the purge records. */
  issuer: string;
  clock: Clock;
  retentionDays: number;
  /** Events deleted per round (default 5,000). */
  batch?: number;
}

/** What one chain's purge did. */
export interface PurgeResult {
  chain: string;
  throughSeq: number;
  deleted: number;
}

const DAY_MS = 86_400_000;

/** Purges every chain's events older than the retention; returns what was purged. */
export async function purgeExpired(o: PurgeOptions): Promise<PurgeResult[]> {
  const now = o.clock();
  const before = now - o.retentionDays * DAY_MS;
  const batch = o.batch ?? 5000;
  const results: PurgeResult[] = [];
  for (const chain of await o.store.chains()) {
    const point = await o.store.purgePoint(chain, before);
    const last = (await o.store.purges(chain)).at(-1);
    let through = last?.seq ?? 0;
    if (point !== undefined && point.seq > through) {
      await o.log.record(
        systemEvent({
          time: now,
          issuer: o.issuer,
          action: 'audit.purge',
          resource: `chain:${chain}`,
          decision: 'allow',
          reason: `retention: events older than ${String(o.retentionDays)} days`,
          details: { throughSeq: point.seq, before: new Date(before).toISOString() },
        }),
      );
      const claims = {
        iss: o.issuer,
        chain,
        seq: point.seq,
        hash: point.hash,
        iat: Math.floor(now / 1000),
      };
      const jws = await o.sign(claims, PURGE_TYP);
      await o.store.addPurge({ chain, seq: point.seq, hash: point.hash, jws, createdAt: now });
      through = point.seq;
    }
    if (through === 0) continue;
    // Also finishes a purge an earlier run recorded but did not complete.
    let deleted = 0;
    for (let n = batch; n === batch;) {
      n = await o.store.deleteThrough(chain, through, batch);
      deleted += n;
    }
    if (deleted > 0) results.push({ chain, throughSeq: through, deleted });
  }
  return results;
}
