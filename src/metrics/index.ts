/**
 * @module metrics — the server's Prometheus metrics (prom-client), one registry per app (README
 * "Metrics"). Label values come only from bounded sets the server or the operator defines
 * (route patterns, statuses, configured model ids, rejection reasons, limit names, phases,
 * actions, finding types of the policy, guard names) — never from request input such as
 * subjects; a model id that is not configured counts as `other`. What every request touches is
 * a plain Map or array increment, handed to prom-client when scraped.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { TokenRejection } from '../auth/index.js';
import { LIMIT_NAMES, type LimitName } from '../ratelimit/types.js';
import { auditMetrics, type ObservedAuditLog } from './audit.js';
import { modelMetrics, type ScheduledModel } from './models.js';
import { RequestMetrics } from './requests.js';

export type { ObservedAuditLog } from './audit.js';
export type { ScheduledModel } from './models.js';
export { RouteSeries, UNMATCHED } from './requests.js';

type Phase = 'prompt' | 'output';
type Action = 'allow' | 'redact' | 'block';

const VERDICT_KEYS = {
  prompt: { allow: 'prompt:allow', redact: 'prompt:redact', block: 'prompt:block' },
  output: { allow: 'output:allow', redact: 'output:redact', block: 'output:block' },
} as const;

/** Why a request failed authentication: the verifier's reasons and the two of the header. */
export type AuthFailureReason = TokenRejection | 'missing_token' | 'malformed_request';

/** Every reason, so that any other string counts as `other` (a Record: none can be missed). */
const AUTH_REASONS: Readonly<Record<AuthFailureReason, true>> = {
  missing_token: true,
  malformed_request: true,
  malformed: true,
  too_large: true,
  bad_header: true,
  forbidden_header: true,
  alg_not_allowed: true,
  bad_typ: true,
  bad_kid: true,
  unknown_issuer: true,
  unknown_key: true,
  bad_signature: true,
  bad_claims: true,
  wrong_audience: true,
  expired: true,
  not_yet_valid: true,
  issued_in_future: true,
  lifetime_too_long: true,
  revoked: true,
  dpop_required: true,
  dpop_invalid: true,
};

/** The `error` values of `gatehouse_oauth_errors_total` (RFC 6749 §5.2 and kin, server_error). */
const OAUTH_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
  'invalid_dpop_proof',
  'temporarily_unavailable',
  'server_error',
]);

/** The model label of a request that names a model this server is not configured with. */
export const OTHER_MODEL = 'other';

export interface MetricsOptions {
  /** The configured model ids: the only `model` label values besides `other` and empty. */
  models?: Iterable<string>;
  /** Whether a Redis is configured: only then is `gatehouse_redis_healthy` exported. */
  redis?: boolean;
  /** Also export prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean;
}

/** Adds 1 to `key` in a pending map (the hot-path counting). */
function bump<K>(map: Map<K, number>, key: K, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Separates the label values of a pending key (no label value holds it). */
const SEP = '\u0000';

/**
 * A counter whose increments wait in `pending` until it is scraped, keyed by its label values
 * (joined with SEP when there are several).
 */
function pendingCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
  pending: Map<string, number>,
): Counter<L> {
  return new Counter({
    name,
    help,
    labelNames: labels,
    registers: [registry],
    collect(this: Counter<L>) {
      for (const [key, n] of pending) this.labels(...key.split(SEP)).inc(n);
      pending.clear();
    },
  });
}

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
  /** Requests by route, method, status and model, with their latency. */
  readonly requests = new RequestMetrics();
  readonly #models: ReadonlySet<string>;
  /** Whether a model id not in the config is served (a registry deployment): a label too. */
  #served: ((id: string) => boolean) | undefined;
  /** Tokens since the last scrape, by model label: prompt and completion. */
  readonly #tokens = new Map<string, { prompt: number; completion: number }>();
  readonly #authFailures = new Map<string, number>();
  /** OAuth error responses since the last scrape, by endpoint and error (SEP between). */
  readonly #oauthErrors = new Map<string, number>();
  readonly #denials = new Map<string, number>();
  readonly #rateLimited = new Map<string, number>();
  readonly #storeHealthy: Gauge;
  #redisHealthy: Gauge | undefined;
  #audit = false;
  #watchingModels = false;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#models = new Set(options.models ?? []);
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
    for (const m of this.requests.metrics()) this.registry.registerMetric(m.asMetric());
    const tokens = this.#tokens;
    new Counter({
      name: 'gatehouse_inference_tokens_total',
      help: 'Tokens of inference requests by model and kind (prompt: in, completion: out)',
      labelNames: ['model', 'kind'],
      registers,
      collect(this: Counter<'model' | 'kind'>) {
        for (const [model, t] of tokens) {
          this.labels(model, 'prompt').inc(t.prompt);
          this.labels(model, 'completion').inc(t.completion);
        }
        tokens.clear();
      },
    });
    pendingCounter(
      this.registry,
      'gatehouse_auth_failures_total',
      'Requests to protected routes refused authentication (401/400), by reason',
      ['reason'],
      this.#authFailures,
    );
    pendingCounter(
      this.registry,
      'gatehouse_oauth_errors_total',
      'Error responses of the OAuth endpoints (client authentication failures are invalid_client), by endpoint and error',
      ['endpoint', 'error'],
      this.#oauthErrors,
    );
    pendingCounter(
      this.registry,
      'gatehouse_policy_denials_total',
      'Authenticated requests the policy denied (403), by the scope the route requires',
      ['scope'],
      this.#denials,
    );
    const limited = pendingCounter(
      this.registry,
      'gatehouse_ratelimit_refusals_total',
      'Requests refused by a rate limit or quota (429), by the limit that was hit',
      ['limit'],
      this.#rateLimited,
    );
    for (const limit of LIMIT_NAMES) limited.labels(limit).inc(0);
    this.#storeHealthy = new Gauge({
      name: 'gatehouse_store_healthy',
      help: 'Whether the store (SQLite or PostgreSQL) answers: 1 yes, 0 no',
      registers,
    });
    this.#storeHealthy.set(1);
    if (options.redis === true) this.setRedisHealthy(true);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The `model` label for a model id a request named: the id itself if it is configured or
   * served (the registry deploys models an admin approved, so the labels stay few), `other` for
   * any other string, empty when there is none. Set and Map lookups, no allocation.
   */
  modelLabel(id: unknown): string {
    if (typeof id !== 'string') return '';
    return this.#models.has(id) || this.#served?.(id) === true ? id : OTHER_MODEL;
  }

  /** Counts an inference response's tokens (whether or not the audit log is on). */
  tokens(model: string, prompt: number, completion: number): void {
    const label = this.modelLabel(model);
    const t = this.#tokens.get(label);
    if (t === undefined) this.#tokens.set(label, { prompt, completion });
    else {
      t.prompt += prompt;
      t.completion += completion;
    }
  }

  /** Counts a failed authentication; a reason outside the known set counts as `other`. */
  authFailure(reason: string): void {
    bump(this.#authFailures, Object.hasOwn(AUTH_REASONS, reason) ? reason : 'other');
  }

  /**
   * Counts an error response of OAuth endpoint `endpoint` (a route pattern such as
   * `/oauth/token`) with RFC 6749 code `error`; a code outside the known set counts as `other`.
   */
  oauthError(endpoint: string, error: string): void {
    bump(this.#oauthErrors, `${endpoint}${SEP}${OAUTH_ERRORS.has(error) ? error : 'other'}`);
  }

  /** Counts a policy denial of a route requiring `scope` (the route's own, space-separated). */
  policyDenied(scope: string): void {
    bump(this.#denials, scope);
  }

  /** Counts a request refused by rate limit `limit` (called by the rate-limit stage). */
  rateLimited(limit: LimitName): void {
    bump(this.#rateLimited, limit);
  }

  /** Sets `gatehouse_store_healthy` (1 until someone reports otherwise). */
  setStoreHealthy(healthy: boolean): void {
    this.#storeHealthy.set(healthy ? 1 : 0);
  }

  /** Sets `gatehouse_redis_healthy` (exported once Redis is configured or first reported). */
  setRedisHealthy(healthy: boolean): void {
    this.#redisHealthy ??= new Gauge({
      name: 'gatehouse_redis_healthy',
      help: 'Whether the Redis of the rate limits answers: 1 yes, 0 no',
      registers: [this.registry],
    });
    this.#redisHealthy.set(healthy ? 1 : 0);
  }

  /** Exports the audit log's commit latency, failures and lag (once; the log must be open). */
  watchAudit(log: ObservedAuditLog): void {
    if (this.#audit) return;
    this.#audit = true;
    auditMetrics(this.registry, log);
  }

  /**
   * Exports queue depth, running work and batch sizes of the models `served()` lists; `has`,
   * when given, says whether an id is served (its requests are then labelled with it).
   */
  watchModels(served: () => Iterable<ScheduledModel>, has?: (id: string) => boolean): void {
    if (this.#watchingModels) return;
    this.#watchingModels = true;
    this.#served = has;
    modelMetrics(this.registry, served);
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
