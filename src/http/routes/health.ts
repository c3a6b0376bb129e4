/**
 * @module http/routes/health — liveness and readiness probes (unauthenticated). `/readyz`
 * answers 200 only once the server takes requests and every required model is loaded; it lists
 * each model's state with a short public reason, never internals, whether the audit log can be
 * written (while it cannot, audited requests get 503, so the replica is not ready) and whether
 * the store answers its periodic probe (a database outage makes every replica not ready, and
 * each becomes ready again by itself when the database is back), and whether the rate limits'
 * Redis answers (not ready while it does not, unless `ratelimit.failOpen`).
 */
import type { FastifyInstance } from 'fastify';
import type { ModelStatus } from '../../inference/index.js';

/** What `/readyz` reports. */
export interface Readiness {
  /** Whether the server takes requests yet (or still: `draining` on shutdown). */
  readonly phase: 'starting' | 'serving' | 'draining';
  /** Every configured model (and classifier), in config order. */
  readonly models: readonly ModelStatus[];
  /** Whether the audit log's last write succeeded (undefined: audit off). */
  readonly audit?: boolean | undefined;
  /** Whether the store answered its last probe (undefined: not probed). */
  readonly store?: boolean | undefined;
  /**
   * Whether the rate limits' Redis answers (undefined: counters in memory), and whether the
   * limiter then fails open: failing closed, limited callers get 503, so the replica is not ready.
   */
  readonly ratelimit?: { readonly healthy: boolean; readonly failOpen: boolean } | undefined;
}

function verdict(r: Readiness): 'ready' | 'starting' | 'loading' | 'not_ready' | 'draining' {
  if (r.phase !== 'serving') return r.phase;
  // Requests that must be audited are refused while the log cannot be written.
  if (r.audit === false || r.store === false) return 'not_ready';
  if (r.ratelimit?.healthy === false && !r.ratelimit.failOpen) return 'not_ready';
  const required = r.models.filter((m) => m.required);
  if (required.some((m) => m.state === 'failed')) return 'not_ready';
  if (required.some((m) => m.state === 'loading')) return 'loading';
  return 'ready';
}

export function healthRoutes(app: FastifyInstance, readiness: () => Readiness): void {
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => {
    const r = readiness();
    const status = verdict(r);
    const models = r.models.map((m) => ({
      id: m.id,
      state: m.state,
      required: m.required,
      ...(m.reason === undefined ? {} : { reason: m.reason }),
    }));
    const audit = r.audit === undefined ? {} : { audit: r.audit ? 'ok' : 'unavailable' };
    const store = r.store === undefined ? {} : { store: r.store ? 'ok' : 'unavailable' };
    const ratelimit =
      r.ratelimit === undefined ? {} : { ratelimit: r.ratelimit.healthy ? 'ok' : 'unavailable' };
    return reply
      .code(status === 'ready' ? 200 : 503)
      .send({ status, ...store, ...ratelimit, ...audit, models });
  });
}
