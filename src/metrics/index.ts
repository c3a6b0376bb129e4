/**
 * @module metrics — the server's Prometheus metrics (prom-client), one registry per app. Label
 * values come only from bounded sets the server or the operator defines (phases, actions,
 * finding types of the policy, guard names) — never from request input such as subjects.
 * Counters the hot path touches are bound to their labels once (a child `inc()` is a field add).
 */
import { Counter, Registry } from 'prom-client';

type Phase = 'prompt' | 'output';
type Action = 'allow' | 'redact' | 'block';

/** The metrics of one server. */
export class Metrics {
  readonly registry = new Registry();
  /** Checked texts' verdicts by phase and applied action. */
  readonly guardVerdicts: Counter<'phase' | 'action'>;
  /** Findings by phase, type and the action their rules give (dry-run: `dry_run` true). */
  readonly guardFindings: Counter<'phase' | 'type' | 'action' | 'dry_run'>;
  /** Prompt injections detected, by what the rule did. */
  readonly injections: Counter<'action'>;
  /** Requests refused because a guard failed or ran past its budget (fail closed). */
  readonly guardFailures: Counter<'guard' | 'reason'>;
  readonly #verdicts = new Map<string, { inc(): void }>();

  constructor() {
    const registers = [this.registry];
    this.guardVerdicts = new Counter({
      name: 'gatehouse_guard_verdicts_total',
      help: 'Requests checked by the content guards, by phase and applied action',
      labelNames: ['phase', 'action'],
      registers,
    });
    this.guardFindings = new Counter({
      name: 'gatehouse_guard_findings_total',
      help: 'Findings of the content guards, by phase, type, action and dry-run',
      labelNames: ['phase', 'type', 'action', 'dry_run'],
      registers,
    });
    this.injections = new Counter({
      name: 'gatehouse_guard_injections_total',
      help: 'Prompt injections detected, by what the caller’s rule did (block, flag, allow, dry-run)',
      labelNames: ['action'],
      registers,
    });
    this.guardFailures = new Counter({
      name: 'gatehouse_guard_failures_total',
      help: 'Requests refused (503) because a guard failed or exceeded its time budget',
      labelNames: ['guard', 'reason'],
      registers,
    });
  }

  /** Counts one checked request's verdict of `phase` (bound children: no label hashing). */
  verdict(phase: Phase, action: Action): void {
    const key = `${phase}:${action}`;
    let child = this.#verdicts.get(key);
    if (child === undefined) {
      child = this.guardVerdicts.labels(phase, action);
      this.#verdicts.set(key, child);
    }
    child.inc();
  }

  /** The text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
