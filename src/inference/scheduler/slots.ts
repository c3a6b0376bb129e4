/**
 * @module inference/scheduler/slots — concurrency slots for generation (one per context
 * sequence), shared fairly: waiting requests are queued per identity and served round-robin, so
 * one client sending many requests cannot starve the others. The wait queue is bounded.
 */
import { DeadlineError, ModelUnavailableError, OverloadedError } from '../errors.js';

interface Waiter {
  identity: string;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Hands out at most `slots` concurrent leases. */
export class SlotScheduler {
  readonly #slots: number;
  readonly #maxQueue: number;
  #busy = 0;
  #waiting = 0;
  /** Per-identity FIFO queues; Map order is the round-robin order. */
  readonly #queues = new Map<string, Waiter[]>();
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: { slots: number; maxQueue: number }) {
    this.#slots = options.slots;
    this.#maxQueue = options.maxQueue;
  }

  /** Leases in use. */
  get busy(): number {
    return this.#busy;
  }

  /** Requests waiting for a lease. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Waits for a free slot; resolves to the function that gives it back (call exactly once). */
  acquire(identity: string, signal?: AbortSignal): Promise<() => void> {
    if (this.#closed)
      return Promise.reject(new ModelUnavailableError('The server is shutting down'));
    if (signal?.aborted === true) return Promise.reject(new DeadlineError());
    if (this.#busy < this.#slots && this.#waiting === 0) {
      this.#busy++;
      return Promise.resolve(this.#lease());
    }
    if (this.#waiting >= this.#maxQueue) return Promise.reject(new OverloadedError());
    return new Promise((resolve, reject) => {
      const w: Waiter = { identity, resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          this.#remove(w);
          reject(new DeadlineError());
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      let q = this.#queues.get(identity);
      if (q === undefined) {
        q = [];
        this.#queues.set(identity, q);
      }
      q.push(w);
      this.#waiting++;
    });
  }

  #lease(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy--;
      this.#dispatch();
    };
  }

  #remove(w: Waiter): void {
    const q = this.#queues.get(w.identity);
    const i = q?.indexOf(w) ?? -1;
    if (q === undefined || i < 0) return;
    q.splice(i, 1);
    this.#waiting--;
    if (q.length === 0) this.#queues.delete(w.identity);
  }

  #dispatch(): void {
    while (this.#busy < this.#slots && this.#waiting > 0) {
      // The identity that waited longest for its turn goes first, then moves to the back.
      const first = this.#queues.entries().next();
      if (first.done === true) break;
      const [identity, q] = first.value;
      const w = q.shift();
      if (w === undefined) break;
      this.#queues.delete(identity);
      if (q.length > 0) this.#queues.set(identity, q);
      this.#waiting--;
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      this.#busy++;
      w.resolve(this.#lease());
    }
    if (this.#busy === 0 && this.#waiting === 0) for (const r of this.#idle.splice(0)) r();
  }

  /** Stops taking work; resolves when every lease has been returned and no one waits. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#busy === 0 && this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
