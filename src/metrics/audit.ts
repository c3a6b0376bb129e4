/**
 * @module metrics/audit — the audit log's writes: how long each commit took in the store, events
 * written, failed writes, and the lag (events not yet durable and how long the oldest has
 * waited, read when scraped). A commit is one transaction for a whole batch, so this costs a
 * few numbers per batch, nothing per event.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditBacklog, AuditWriteObserver } from '../audit/index.js';
import { scrapedHistogram, Tally } from './tally.js';

/** Commit latency buckets, seconds: from an in-memory SQLite commit to a slow network store. */
const WRITE_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** What the metrics need of an audit log (the writer has both). */
export interface ObservedAuditLog {
  observe?(observer: AuditWriteObserver): void;
  backlog?(): AuditBacklog;
}

/** Registers the audit metrics on `registry` and starts observing `log`. */
export function auditMetrics(registry: Registry, log: ObservedAuditLog): void {
  const registers = [registry];
  const writes = new Tally(WRITE_BUCKETS);
  let events = 0;
  let failures = 0;
  log.observe?.({
    written(n, seconds) {
      writes.observe(seconds);
      events += n;
    },
    failed() {
      failures++;
    },
  });
  registry.registerMetric(
    scrapedHistogram(
      'gatehouse_audit_write_duration_seconds',
      'Time one audit commit (a batch of events, one transaction) took in the store',
      () => [{ labels: {}, tally: writes }],
    ).asMetric(),
  );
  new Counter({
    name: 'gatehouse_audit_events_written_total',
    help: 'Audit events committed to this replica’s chain',
    registers,
    collect(this: Counter) {
      this.inc(events);
      events = 0;
    },
  });
  new Counter({
    name: 'gatehouse_audit_write_failures_total',
    help: 'Audit commits that failed (audited requests get 503 until the store answers)',
    registers,
    collect(this: Counter) {
      this.inc(failures);
      failures = 0;
    },
  });
  const backlog = (): AuditBacklog => log.backlog?.() ?? { events: 0, oldestSeconds: 0 };
  new Gauge({
    name: 'gatehouse_audit_pending_events',
    help: 'Audit events recorded but not yet durable (queued or in the commit in flight)',
    registers,
    collect(this: Gauge) {
      this.set(backlog().events);
    },
  });
  new Gauge({
    name: 'gatehouse_audit_lag_seconds',
    help: 'How long the oldest audit event not yet durable has waited (0: none waits)',
    registers,
    collect(this: Gauge) {
      this.set(backlog().oldestSeconds);
    },
  });
}
