/**
 * @module inference/scheduler/batcher — fair dynamic micro-batching for embedding and
 * classification. Requests that arrive while the model is busy, or within `windowMs` of an idle
 * model, run as one batch of up to `maxBatch` inputs: one forward pass instead of many.
 *
 * Fairness: inputs wait in one FIFO lane per identity (`Caller.identity`), and each batch is
 * filled round-robin across the lanes, one input per identity per turn, the lane served last
 * moving to the back. A large request is thereby split into batches that interleave with other
 * identities' work: while A has 2,000 inputs queued, B's one-line request rides in the next
 * batch. The queue bound is shared per identity (see {@link QueueBound}); a refused request is
 * refused at once (429), not queued.
 *
 * Deadlines and cancellation: every request has the model's `timeoutMs` from its submission,
 * kept in the batcher's one {@link Deadlines} timer. When the deadline passes (504) or the
 * caller's signal aborts (client gone), the request fails at once and its inputs still queued
 * leave the queue; inputs already in a running batch finish there and their outputs are dropped.
 */
import {
  DeadlineError,
  ModelUnavailableError,
  OverloadedError,
  RequestCancelledError,
} from '../errors.js';
import { Deadlines, type Deadline } from './deadlines.js';
import type { AbortLike } from '../../lib/abort.js';
import { QueueBound } from './queue-bound.js';

/** Who submits work: the key of fair scheduling, and the caller's cancellation. */
export interface Caller {
  /** The caller's identity key (e.g. `iss|sub`). */
  readonly identity: string;
  /** Aborted when the client goes away. */
  readonly signal?: AbortLike | undefined;
  /**
   * Aborts `signal` (optional). Given it, a generation's deadline aborts the caller's own signal
   * instead of one more AbortController per running generation (in Node 20 a signal costs ~5 µs
   * plus garbage collection). The request is over either way.
   */
  readonly cancel?: (() => void) | undefined;
}

export interface BatcherOptions<I, O> {
  /** Runs one batch; must return one output per input, in order. */
  run: (inputs: I[]) => Promise<O[]>;
  maxBatch: number;
  /** How long an idle model waits for company before running a lone request. */
  windowMs: number;
  /** Bound on waiting inputs, shared per identity ({@link QueueBound}). */
  maxQueue: number;
  /** Deadline of every request, from its submission, ms. */
  timeoutMs: number;
  /** Batches that may run at once (one per worker thread); default 1. */
  concurrency?: number;
  /** Monotonic clock, ms (default `performance.now`). */
  now?: () => number;
}

interface Job<I, O> {
  readonly lane: Lane<I, O>;
  readonly inputs: readonly I[];
  readonly outputs: O[];
  /** Inputs handed to a batch so far. */
  taken: number;
  done: number;
  settled: boolean;
  readonly resolve: (outputs: O[]) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortLike | undefined;
  readonly onAbort: () => void;
  deadline: Deadline | undefined;
}

/** One identity's waiting jobs, oldest first. */
interface Lane<I, O> {
  readonly identity: string;
  readonly jobs: Job<I, O>[];
  /** Inputs of `jobs` not yet handed to a batch. */
  waiting: number;
}

/** Batches inputs from concurrent requests into single model calls, fairly per identity. */
export class MicroBatcher<I, O> {
  readonly #o: BatcherOptions<I, O>;
  readonly #lanes = new Map<string, Lane<I, O>>();
  readonly #bound: QueueBound;
  readonly #deadlines: Deadlines;
  #queued = 0;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #idle: (() => void)[] = [];
  /** metrics: batches run so far, by size (`[n]`: batches of n inputs). */
  readonly #sizes: Float64Array;

  constructor(options: BatcherOptions<I, O>) {
    this.#o = options;
    this.#sizes = new Float64Array(options.maxBatch + 1);
    this.#bound = new QueueBound(options.maxQueue);
    this.#deadlines = new Deadlines(options.now);
  }

  /** Inputs waiting right now. */
  get queued(): number {
    return this.#queued;
  }

  /** Batches running right now (metrics). */
  get running(): number {
    return this.#running;
  }

  /** Batches run so far by size: `[n]` counts the batches of n inputs (metrics). */
  get batchSizes(): Readonly<Float64Array> {
    return this.#sizes;
  }

  /** Whether any timer is pending (tests: an idle batcher leaves none behind). */
  get hasTimers(): boolean {
    return this.#timer !== undefined || this.#deadlines.armed;
  }

  /** Submits inputs; resolves with their outputs once the batches holding them have run. */
  submit(inputs: readonly I[], caller: Caller): Promise<O[]> {
    if (this.#closed)
      return Promise.reject(new ModelUnavailableError('The server is shutting down'));
    if (inputs.length === 0) return Promise.resolve([]);
    const { signal } = caller;
    if (signal?.aborted === true) return Promise.reject(new RequestCancelledError());
    const lane = this.#lanes.get(caller.identity);
    if (!this.#bound.admits(lane?.waiting ?? 0, inputs.length)) {
      return Promise.reject(new OverloadedError());
    }
    return new Promise<O[]>((resolve, reject) => {
      const l = lane ?? { identity: caller.identity, jobs: [], waiting: 0 };
      const job: Job<I, O> = {
        lane: l,
        inputs,
        outputs: new Array<O>(inputs.length),
        taken: 0,
        done: 0,
        settled: false,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#settle(job, new RequestCancelledError());
        },
        deadline: undefined,
      };
      job.deadline = this.#deadlines.add(this.#o.timeoutMs, () => {
        this.#settle(job, new DeadlineError());
      });
      signal?.addEventListener('abort', job.onAbort, { once: true });
      if (lane === undefined) this.#lanes.set(l.identity, l);
      l.jobs.push(job);
      this.#setWaiting(l, l.waiting + inputs.length);
      this.#schedule();
    });
  }

  #setWaiting(lane: Lane<I, O>, waiting: number): void {
    this.#bound.update(lane.waiting, waiting);
    this.#queued += waiting - lane.waiting;
    lane.waiting = waiting;
  }

  /** Ends `job` once: with its outputs, or with `err` (dropping its inputs still queued). */
  #settle(job: Job<I, O>, err: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.deadline !== undefined) this.#deadlines.delete(job.deadline);
    job.signal?.removeEventListener('abort', job.onAbort);
    if (err === undefined) {
      job.resolve(job.outputs);
      return;
    }
    const left = job.inputs.length - job.taken;
    if (left > 0) {
      const { lane } = job;
      lane.jobs.splice(lane.jobs.indexOf(job), 1);
      this.#setWaiting(lane, lane.waiting - left);
      if (lane.waiting === 0) this.#lanes.delete(lane.identity);
      if (this.#queued === 0) this.#clearWindow();
    }
    job.reject(err);
    this.#checkIdle();
  }

  #schedule(): void {
    if (this.#running >= this.#concurrency || this.#queued === 0) return;
    if (this.#queued >= this.#o.maxBatch || this.#o.windowMs <= 0) {
      this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#o.windowMs);
  }

  #clearWindow(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#clearWindow();
    while (this.#running < this.#concurrency && this.#queued > 0) {
      // Spread a burst over the idle workers instead of piling it onto one of them.
      const idle = this.#concurrency - this.#running;
      this.#launch(Math.min(this.#o.maxBatch, Math.ceil(this.#queued / idle)));
    }
  }

  /** Takes up to `size` queued inputs, round-robin across identities, and runs them. */
  #launch(size: number): void {
    const batch: I[] = [];
    const owners: Job<I, O>[] = [];
    const slots: number[] = [];
    // Re-inserting a lane while iterating the Map visits it again: turns continue until full.
    for (const lane of this.#lanes.values()) {
      if (batch.length >= size) break;
      const job = lane.jobs[0];
      if (job === undefined) break; // never: a lane in the Map has a job waiting
      batch.push(job.inputs[job.taken] as I);
      owners.push(job);
      slots.push(job.taken++);
      if (job.taken === job.inputs.length) lane.jobs.shift();
      this.#setWaiting(lane, lane.waiting - 1);
      this.#lanes.delete(lane.identity);
      if (lane.waiting > 0) this.#lanes.set(lane.identity, lane);
    }
    this.#running++;
    this.#sizes[batch.length] = (this.#sizes[batch.length] ?? 0) + 1; // metrics
    this.#o.run(batch).then(
      (outputs) => {
        owners.forEach((job, k) => {
          if (job.settled) return;
          job.outputs[slots[k] ?? 0] = outputs[k] as O;
          if (++job.done === job.inputs.length) this.#settle(job, undefined);
        });
        this.#next();
      },
      (err: unknown) => {
        for (const job of owners) this.#settle(job, err);
        this.#next();
      },
    );
  }

  #next(): void {
    this.#running--;
    // Work piled up while we ran: run it now, no window (that is where batching pays).
    if (this.#queued > 0) this.#flush();
    else this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#running === 0 && this.#queued === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  get #concurrency(): number {
    return this.#o.concurrency ?? 1;
  }

  /** Stops taking work; resolves once everything accepted has run (or left the queue). */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#running === 0 && this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
