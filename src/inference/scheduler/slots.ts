/**
 * @module inference/scheduler/slots — concurrency slots for generation (one per context
 * sequence), shared fairly: waiting requests are queued per identity and served round-robin, so
 * one client sending many requests cannot starve the others. The wait queue is bounded and
 * shared per identity ({@link QueueBound}; the unit is a request).
 *
 * Deadlines: every request has the model's `timeoutMs` from `acquire`, kept in the scheduler's
 * one {@link Deadlines} timer, waiting or running. A waiting request whose deadline passes or
 * whose client goes away leaves the queue at once; a running one has its lease's signal aborted
 * (the one AbortController per running generation), which the backend sees and stops on.
 */
import {
  DeadlineError,
  ModelUnavailableError,
  OverloadedError,
  RequestCancelledError,
} from '../errors.js';
import type { Caller } from './batcher.js';
import { Deadlines, type Deadline } from './deadlines.js';
import type { AbortLike } from '../../lib/abort.js';
import { QueueBound } from './queue-bound.js';

/** A held slot. */
export interface Lease {
  /** Aborted when the client goes away or the deadline passes: hand it to the backend. */
  readonly signal: AbortLike;
  /** Whether the deadline passed (as opposed to the client leaving). */
  readonly timedOut: boolean;
  /** Gives the slot back; later calls do nothing. */
  release(): void;
}

/** What a ticket reports to its scheduler: one object per scheduler, not closures per ticket. */
interface TicketEvents {
  release(t: Ticket): void;
  /** The caller's signal was aborted. */
  cancelled(t: Ticket): void;
  /** The deadline passed. */
  expired(t: Ticket): void;
}

/**
 * A request for a slot, then its lease. It is its own abort listener (`handleEvent`) and its own
 * deadline callback (`onDeadline`), so a request allocates no closures here.
 */
class Ticket implements Lease {
  /** The signal handed to the backend: the caller's own if it can abort it, else ours. */
  readonly #controller: AbortController | undefined;
  /** The caller, when it can abort its own signal (`cancel`). */
  readonly #owner: Caller | undefined;
  readonly #signal: AbortLike;
  readonly #events: TicketEvents;
  readonly identity: string;
  readonly caller: AbortLike | undefined;
  state: 'waiting' | 'running' | 'done' = 'waiting';
  timedOut = false;
  deadline: Deadline | undefined;
  resolve: ((lease: Lease) => void) | undefined;
  reject: ((err: unknown) => void) | undefined;

  constructor(caller: Caller, events: TicketEvents) {
    this.#events = events;
    this.identity = caller.identity;
    this.caller = caller.signal;
    if (caller.signal !== undefined && caller.cancel !== undefined) {
      this.#owner = caller;
      this.#signal = caller.signal;
    } else {
      this.#controller = new AbortController();
      this.#signal = this.#controller.signal;
    }
  }

  /** What the backend watches: the caller's own cancellation (no AbortSignal made for it). */
  get signal(): AbortLike {
    return this.#signal;
  }

  release(): void {
    this.#events.release(this);
  }

  /** The caller's `abort` event. */
  handleEvent(): void {
    this.#events.cancelled(this);
  }

  onDeadline(): void {
    this.deadline = undefined;
    this.timedOut = true;
    this.#events.expired(this);
  }

  abort(): void {
    if (this.#controller !== undefined) this.#controller.abort();
    else this.#owner?.cancel?.();
  }
}

/** Hands out at most `slots` concurrent leases. */
export class SlotScheduler {
  readonly #slots: number;
  readonly #timeoutMs: number;
  readonly #bound: QueueBound;
  readonly #deadlines: Deadlines;
  #busy = 0;
  #waiting = 0;
  /** Per-identity FIFO queues; Map order is the round-robin order. */
  readonly #queues = new Map<string, Ticket[]>();
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: { slots: number; maxQueue: number; timeoutMs: number; now?: () => number }) {
    this.#slots = options.slots;
    this.#timeoutMs = options.timeoutMs;
    this.#bound = new QueueBound(options.maxQueue);
    this.#deadlines = new Deadlines(options.now);
  }

  /** Leases in use. */
  get busy(): number {
    return this.#busy;
  }

  /** Requests waiting for a lease. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Whether a deadline timer is pending (tests: an idle scheduler leaves none behind). */
  get hasTimers(): boolean {
    return this.#deadlines.armed;
  }

  /**
   * A lease at once when a slot is free and no one waits, else `undefined` (then call
   * {@link acquire}, which also gives the reasons for refusing). Saves the uncontended case a
   * promise.
   */
  tryAcquire(caller: Caller): Lease | undefined {
    if (this.#closed || caller.signal?.aborted === true) return undefined;
    if (this.#busy >= this.#slots || this.#waiting > 0) return undefined;
    const t = this.#ticket(caller);
    this.#start(t);
    return t;
  }

  /** Waits for a free slot, fairly per `caller.identity`; release the lease exactly once. */
  acquire(caller: Caller): Promise<Lease> {
    if (this.#closed)
      return Promise.reject(new ModelUnavailableError('The server is shutting down'));
    if (caller.signal?.aborted === true) return Promise.reject(new RequestCancelledError());
    const queue = this.#queues.get(caller.identity);
    const free = this.#busy < this.#slots && this.#waiting === 0;
    if (!free && !this.#bound.admits(queue?.length ?? 0, 1)) {
      return Promise.reject(new OverloadedError());
    }
    const t = this.#ticket(caller);
    if (free) {
      this.#start(t);
      return Promise.resolve(t);
    }
    return new Promise((resolve, reject) => {
      t.resolve = resolve;
      t.reject = reject;
      if (queue === undefined) this.#queues.set(t.identity, [t]);
      else queue.push(t);
      this.#bound.update(queue === undefined ? 0 : queue.length - 1, queue?.length ?? 1);
      this.#waiting++;
    });
  }

  readonly #events: TicketEvents = {
    release: (t) => {
      this.#release(t);
    },
    cancelled: (t) => {
      if (t.state === 'waiting') this.#drop(t, new RequestCancelledError());
      else t.abort();
    },
    expired: (t) => {
      if (t.state === 'waiting') this.#drop(t, new DeadlineError());
      else t.abort();
    },
  };

  /** A new ticket, with its deadline and its abort listener. */
  #ticket(caller: Caller): Ticket {
    const t = new Ticket(caller, this.#events);
    t.deadline = this.#deadlines.add(this.#timeoutMs, t);
    caller.signal?.addEventListener('abort', t, { once: true });
    return t;
  }

  #start(t: Ticket): void {
    t.state = 'running';
    this.#busy++;
  }

  #end(t: Ticket): void {
    t.state = 'done';
    if (t.deadline !== undefined) this.#deadlines.delete(t.deadline);
    t.caller?.removeEventListener('abort', t);
  }

  #release(t: Ticket): void {
    if (t.state !== 'running') return;
    this.#end(t);
    this.#busy--;
    this.#dispatch();
  }

  /** Takes a waiting ticket out of its queue. */
  #unqueue(t: Ticket): void {
    const q = this.#queues.get(t.identity);
    const i = q?.indexOf(t) ?? -1;
    if (q === undefined || i < 0) return;
    q.splice(i, 1);
    this.#bound.update(q.length + 1, q.length);
    this.#waiting--;
    if (q.length === 0) this.#queues.delete(t.identity);
  }

  #drop(t: Ticket, err: unknown): void {
    this.#unqueue(t);
    this.#end(t);
    t.reject?.(err);
    this.#checkIdle();
  }

  #dispatch(): void {
    while (this.#busy < this.#slots && this.#waiting > 0) {
      // The identity that waited longest for its turn goes first, then moves to the back.
      const first = this.#queues.values().next();
      if (first.done === true) break;
      const t = first.value[0];
      if (t === undefined) break;
      this.#unqueue(t);
      const rest = this.#queues.get(t.identity);
      if (rest !== undefined) {
        this.#queues.delete(t.identity);
        this.#queues.set(t.identity, rest);
      }
      this.#start(t);
      t.resolve?.(t);
    }
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#busy === 0 && this.#waiting === 0) for (const r of this.#idle.splice(0)) r();
  }

  /** Stops taking work; resolves when every lease has been returned and no one waits. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#busy === 0 && this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
