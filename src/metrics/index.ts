/**
 * @module metrics — the server's Prometheus metrics (prom-client), one registry per app. Label
 * values come only from bounded sets the server or the operator defines (phases, actions,
 * finding types of the policy, guard names) — never from request input such as subjects.
 * The counter every request touches sums in a plain Map and is handed over when scraped.
 */
import { Counter, Registry } from 'prom-client';

type Phase = 'prompt' | 'output';
type Action = 'allow' | 'redact' | 'block';

const VERDICT_KEYS = {
  prompt: { allow: 'prompt:allow', redact: 'prompt:redact', block: 'prompt:block' },
  output: { allow: 'output:allow', redact: 'output:redact', block: 'output:block' },
} as const;

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
  /** Verdicts counted since the last scrape, by `phase:action`: a request adds to a number. */
  readonly #pending = new Map<string, number>();

  constructor() {
    const registers = [this.registry];
    const pending = this.#pending;
    this.guardVerdicts = new Counter({
      name: 'gatehouse_guard_verdicts_total',
      help: 'Requests checked by the content guards, by phase and applied action',
      labelNames: ['phase', 'action'],
      registers,
      // Every checked request counts here: the counter takes the sums when it is scraped.
      collect(this: Counter<'phase' | 'action'>) {
        for (const [key, n] of pending) {
          const [phase = '', action = ''] = key.split(':');
          this.labels(phase, action).inc(n);
        }
        pending.clear();
      },
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

  /** Counts one checked request's verdict of `phase` (a Map add; labels only at scrape time). */
  verdict(phase: Phase, action: Action): void {
    const key = VERDICT_KEYS[phase][action];
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
  }

  /** The text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
