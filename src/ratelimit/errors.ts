/** @module ratelimit/errors — the limiter's one failure: its backend cannot answer. */
import { GatewayError } from '../errors.js';

/**
 * The rate limiter cannot answer (Redis down, or slower than `ratelimit.timeoutMs`). With
 * `ratelimit.failOpen: false` (the default) the request is refused with 503 and `Retry-After: 2`
 * rather than served unlimited. The cause (the driver's error) is for the log only.
 */
export class LimiterUnavailableError extends GatewayError {
  /** The message names no host, key or identity: safe to show despite the 5xx status. */
  override readonly expose = true;
  /** Merged into the response by the HTTP error mapper. */
  readonly headers: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '2' });

  constructor(options?: ErrorOptions) {
    super('RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable; retry shortly', 503, options);
  }
}
