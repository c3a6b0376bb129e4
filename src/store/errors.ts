/**
 * @module store/errors — tells "the store cannot be reached right now" apart from every other
 * store failure. The first is an outage that ends by itself (the database restarts, the network
 * comes back, the pool reconnects): the HTTP layer answers 503 with `Retry-After`, never 500. The
 * driver's error sits somewhere in the `cause` chain of the StoreError the backend threw.
 */
import { GatewayError } from '../errors.js';

/** Seconds a client is told to wait before trying again (`Retry-After`). */
export const STORE_RETRY_AFTER = 2;

/** Node socket errors of a connection that could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server that is going away or not taking connections (class 08 is
 * matched as a whole): admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections,
 * and the standby/recovery states a failover passes through.
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);

/*
 * What `pg` says when it has no SQLSTATE to give: a socket closed under a query, a connect that
 * outlived `connectionTimeoutMillis`, a client reused after its connection failed.
 */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /not queryable/,
  /^Client was closed/,
  /^Query read timeout/,
];

/** Deepest chain of causes followed (a cycle or a pathological wrapper ends here). */
const MAX_DEPTH = 8;

function codeOf(e: object): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function oneUnavailable(e: object): boolean {
  const code = codeOf(e);
  if (code !== undefined) {
    if (SOCKET_CODES.has(code) || SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  const message = (e as { message?: unknown }).message;
  if (typeof message === 'string' && DRIVER_MESSAGES.some((m) => m.test(message))) return true;
  // Several addresses tried at once (happy eyeballs): unavailable if they all were.
  const errors = (e as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((x) => isStoreUnavailable(x));
}

/**
 * True when `err` (or an error in its `cause` chain) says the store could not be reached or
 * the connection was lost — an outage, not a bug or a constraint violation.
 */
export function isStoreUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && typeof e === 'object' && e !== null; depth++) {
    if (e instanceof StoreUnavailableError) return true;
    if (oneUnavailable(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The store is unreachable for now: 503 with `Retry-After` (RFC 9110 §15.6.4), a generic
 * message, and the driver's error only in `cause` (for the log).
 */
export class StoreUnavailableError extends GatewayError {
  readonly retryAfter = STORE_RETRY_AFTER;

  constructor(options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', 'The store is unavailable; try again shortly', 503, options);
  }
}
