/**
 * @module http/edge-log — log lines for connections the server closes by its own limits (header
 * or request timeout, oversized headers, malformed HTTP, the connection cap). The first of each
 * reason is logged at once with its remote address; the rest are counted and summed up in one
 * line per window, with the busiest addresses, so a flood of slow or hostile sockets costs a
 * couple of lines per window (one per reason, and the summary), not a line per socket.
 */
import type { Clock } from '../lib/clock.js';

/** Why the server closed a connection. */
export type EdgeReason =
  | 'headers_timeout'
  | 'request_timeout'
  | 'header_overflow'
  | 'bad_request'
  | 'socket_timeout'
  | 'connection_cap';

/** Where the lines go: `level` is warn for the connection cap, info otherwise. */
export type EdgeSink = (level: 'info' | 'warn', obj: Record<string, unknown>, msg: string) => void;

/** Distinct addresses counted per window; the rest are summed under `other`. */
const MAX_ADDRESSES = 1000;
/** Addresses named in a summary line. */
const TOP = 5;

/** Counts and logs edge closes; see the module comment. */
export class EdgeLog {
  readonly #sink: EdgeSink;
  readonly #clock: Clock;
  readonly #windowMs: number;
  #reasons = new Map<EdgeReason, number>();
  #addresses = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #since = 0;

  constructor(sink: EdgeSink, windowMs: number, clock: Clock = Date.now) {
    this.#sink = sink;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  /** Records one close. */
  note(reason: EdgeReason, remote: string | undefined): void {
    const level = reason === 'connection_cap' ? 'warn' : 'info';
    const address = remote ?? 'unknown';
    if (!this.#reasons.has(reason)) {
      // The first of its kind in this window: say it at once, then gather the rest.
      this.#sink(level, { reason, remote: address }, message(reason));
      this.#reasons.set(reason, 0);
      this.#start();
      return;
    }
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    const key =
      this.#addresses.has(address) || this.#addresses.size < MAX_ADDRESSES ? address : 'other';
    this.#addresses.set(key, (this.#addresses.get(key) ?? 0) + 1);
    this.#start();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#since = this.#clock();
    this.#timer = setTimeout(() => {
      this.flush();
    }, this.#windowMs);
    this.#timer.unref();
  }

  /** Writes the summary of the window so far (if anything was counted) and starts afresh. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const counted = [...this.#reasons].filter(([, n]) => n > 0);
    if (counted.length > 0) {
      const reasons = Object.fromEntries(counted);
      const top = [...this.#addresses]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP)
        .map(([remote, count]) => ({ remote, count }));
      const level = this.#reasons.get('connection_cap') ? 'warn' : 'info';
      const windowMs = this.#clock() - this.#since;
      this.#sink(
        level,
        { reasons, top, windowMs },
        'connections closed by server limits (summary)',
      );
    }
    this.#reasons = new Map();
    this.#addresses = new Map();
  }
}

function message(reason: EdgeReason): string {
  switch (reason) {
    case 'headers_timeout':
      return 'connection closed: headers not received in time (408)';
    case 'request_timeout':
      return 'connection closed: request not received in time (408)';
    case 'header_overflow':
      return 'connection closed: request headers too large (431)';
    case 'bad_request':
      return 'connection closed: malformed HTTP (400)';
    case 'socket_timeout':
      return 'connection closed: no traffic within server.socketTimeoutMs';
    case 'connection_cap':
      return 'connection refused: server.maxConnections reached';
  }
}
