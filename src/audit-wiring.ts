/**
 * @module audit-wiring — assembles the audit side of the application: this replica's log on its
 * chain (checkpoints signed with the current signing key), the aggregator of anonymous
 * refusals, the receipt signer, the pipeline stage that uses them, policy reloads as events,
 * and the retention job. Kept beside app.ts, which it serves.
 */
import type { Logger } from 'pino';
import {
  AnonymousFailures,
  chainId,
  createAuditLog,
  createReceiptSigner,
  jwsSigner,
  purgeExpired,
  systemEvent,
  type AuditEventInput,
  type AuditLog,
} from './audit/index.js';
import type { Auth } from './auth/index.js';
import type { Config } from './config/index.js';
import { AuditStage } from './http/audit-stage.js';
import type { Clock } from './lib/clock.js';
import type { Policy } from './policy/index.js';
import type { Store } from './store/index.js';

/** How often the retention job runs when `audit.retentionDays` is set. */
const RETENTION_EVERY_MS = 3_600_000;
/** How often a failing audit log is tried again with no traffic (a load balancer that saw
 * `/readyz` fail sends none, so recovery must not wait for a request). */
const PROBE_EVERY_MS = 1000;

export interface AuditWiring {
  readonly log: AuditLog;
  readonly stage: AuditStage;
  /** Records policy reloads as events. */
  watchPolicy(policy: Policy): void;
  /** Flushes the aggregates, signs what is pending, writes the final checkpoint. */
  close(): Promise<void>;
}

/** The audit side of the app, or undefined when `audit.enabled` is false. */
export function openAudit(
  config: Config,
  store: Store,
  auth: Auth,
  clock: Clock,
  logger: Logger,
): AuditWiring | undefined {
  const a = config.audit;
  if (!a.enabled) return undefined;
  const issuer = config.auth.issuer;
  const sign = jwsSigner(() => auth.keys.signingKey());
  const log = createAuditLog({
    store: store.audit,
    chain: chainId(config),
    sign,
    issuer,
    clock,
    checkpointEvery: a.checkpointEvery,
    checkpointIntervalMs: a.checkpointIntervalMs,
    log: (level, obj, msg) => {
      logger[level](obj, msg);
    },
  });
  const anonymous = new AnonymousFailures({
    record: (event) => log.record(event),
    clock,
    intervalMs: a.anonymousIntervalMs,
    maxKeys: a.anonymousMaxKeys,
    onError: (err) => {
      logger.warn({ err }, 'aggregated refusals not written: audit log unavailable');
    },
  });
  const receipts =
    a.receipts === 'off'
      ? undefined
      : createReceiptSigner({ keys: auth.keys, issuer, clock, mode: a.receipts });
  const stage = new AuditStage({
    audit: log,
    anonymous,
    signReceipt: receipts === undefined ? undefined : (subject) => receipts.sign(subject),
    clock,
  });
  let retention: NodeJS.Timeout | undefined;
  if (a.retentionDays !== undefined) {
    const days = a.retentionDays;
    const purge = (): void => {
      purgeExpired({ store: store.audit, log, sign, issuer, clock, retentionDays: days }).catch(
        (err: unknown) => {
          logger.error({ err }, 'audit retention purge failed');
        },
      );
    };
    retention = setInterval(purge, RETENTION_EVERY_MS);
    retention.unref();
    setImmediate(purge).unref();
  }
  // While the log cannot be written, try again every second with an event that records the
  // outage itself; the first that lands makes the replica ready again.
  let unavailableSince: number | undefined;
  let probing = false;
  const probe = setInterval(() => {
    if (log.healthy()) {
      unavailableSince = undefined;
      return;
    }
    unavailableSince ??= clock();
    if (probing) return;
    probing = true;
    log
      .record(resumed(issuer, clock(), unavailableSince))
      .then(() => {
        logger.info({ chain: log.chain }, 'audit log writable again: requests are served');
      })
      .catch(() => undefined)
      .finally(() => {
        probing = false;
      });
  }, PROBE_EVERY_MS);
  probe.unref();
  let unwatch: (() => void) | undefined;
  return {
    log,
    stage,
    watchPolicy(policy) {
      unwatch = policy.onReload((e) => {
        log
          .record(
            systemEvent({
              time: clock(),
              issuer,
              action: 'policy.reload',
              resource: e.sha256 === null ? null : `policy:${e.sha256}`,
              decision: e.ok ? 'allow' : 'deny',
              reason: e.ok
                ? `policy reloaded from ${e.source}`
                : `policy reload refused; last good policy kept (${e.error ?? 'unreadable'})`,
              details: { sha256: e.sha256, previousSha256: e.previousSha256, ok: e.ok },
            }),
          )
          .catch((err: unknown) => {
            logger.error({ err }, 'policy reload not audited: audit log unavailable');
          });
      });
    },
    async close() {
      clearInterval(probe);
      if (retention !== undefined) clearInterval(retention);
      unwatch?.();
      await anonymous.flush();
      await receipts?.close();
      await log.close();
    },
  };
}

/** The event that ends an outage of the log: from when requests were refused, until now. */
function resumed(issuer: string, now: number, since: number): AuditEventInput {
  return systemEvent({
    time: now,
    issuer,
    action: 'audit.resume',
    resource: null,
    decision: 'allow',
    reason: 'audit log writable again; audited requests were refused (503) while it was not',
    details: { unavailableSince: since, unavailableMs: now - since },
  });
}
