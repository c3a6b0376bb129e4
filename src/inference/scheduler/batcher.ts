/**
 * @module inference/scheduler/batcher — dynamic micro-batching for embedding and classification.
 * Requests that arrive while the model is busy, or within `windowMs` of an idle model, run as one
 * batch of up to `maxBatch` inputs: one forward pass instead of many. The queue is bounded; a
 * full queue rejects at once (429) rather than growing without limit.
 */
import { DeadlineError, ModelUnavailableError, OverloadedError } from '../errors.js';

export interface BatcherOptions<I, O> {
  /** Runs one batch; must return one output per input, in order. */
  run: (inputs: I[]) => Promise<O[]>;
  maxBatch: number;
  /** How long an idle model waits for company before running a lone request. */
  windowMs: number;
  /** Most inputs allowed to wait (not counting the batches running). */
  maxQueue: number;
  /** Batches that may run at once (one per worker thread); default 1. */
  concurrency?: number;
}

interface Job<I, O> {
  inputs: I[];
  outputs: O[];
  /** Inputs of this job already handed to a batch. */
  taken: number;
  done: number;
  resolve: (outputs: O[]) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Batches inputs from concurrent requests into single model calls. */
export class MicroBatcher<I, O> {
  readonly #o: BatcherOptions<I, O>;
  readonly #queue: Job<I, O>[] = [];
  #queued = 0;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: BatcherOptions<I, O>) {
    this.#o = options;
  }

  /** Inputs waiting right now. */
  get queued(): number {
    return this.#queued;
  }

  /** Submits inputs; resolves with their outputs once the batches holding them have run. */
  submit(inputs: I[], signal?: AbortSignal): Promise<O[]> {
    if (this.#closed)
      return Promise.reject(new ModelUnavailableError('The server is shutting down'));
    if (inputs.length === 0) return Promise.resolve([]);
    if (signal?.aborted === true) return Promise.reject(new DeadlineError());
    if (this.#queued + inputs.length > this.#o.maxQueue && this.#queued > 0) {
      return Promise.reject(new OverloadedError());
    }
    return new Promise<O[]>((resolve, reject) => {
      const job: Job<I, O> = {
        inputs,
        outputs: new Array<O>(inputs.length),
        taken: 0,
        done: 0,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        job.onAbort = () => {
          this.#cancel(job);
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#queued += inputs.length;
      this.#schedule();
    });
  }

  #cancel(job: Job<I, O>): void {
    const i = this.#queue.indexOf(job);
    // Only jobs with nothing handed to a batch yet can leave; others finish with their batch.
    if (i < 0 || job.taken > 0) return;
    this.#queue.splice(i, 1);
    this.#queued -= job.inputs.length;
    job.reject(new DeadlineError());
  }

  #schedule(): void {
    if (this.#running >= this.#concurrency || this.#queue.length === 0) return;
    if (this.#queued >= this.#o.maxBatch || this.#o.windowMs <= 0) {
      this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#o.windowMs);
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      // Spread a burst over the idle workers instead of piling it onto one of them.
      const idle = this.#concurrency - this.#running;
      this.#launch(Math.min(this.#o.maxBatch, Math.ceil(this.#queued / idle)));
    }
  }

  /** Takes up to `size` queued inputs and runs them as one batch. */
  #launch(size: number): void {
    const batch: I[] = [];
    const parts: { job: Job<I, O>; from: number; count: number }[] = [];
    for (let job = this.#queue[0]; job !== undefined && batch.length < size; job = this.#queue[0]) {
      const count = Math.min(job.inputs.length - job.taken, size - batch.length);
      parts.push({ job, from: job.taken, count });
      for (let k = 0; k < count; k++) batch.push(job.inputs[job.taken + k] as I);
      job.taken += count;
      if (job.taken === job.inputs.length) this.#queue.shift();
    }
    this.#queued -= batch.length;
    this.#running++;
    this.#o.run(batch).then(
      (outputs) => {
        let at = 0;
        for (const { job, from, count } of parts) {
          for (let k = 0; k < count; k++) job.outputs[from + k] = outputs[at++] as O;
          job.done += count;
          if (job.done === job.inputs.length) this.#settle(job, undefined);
        }
        this.#next();
      },
      (err: unknown) => {
        for (const { job } of parts) this.#settle(job, err);
        this.#next();
      },
    );
  }

  #settle(job: Job<I, O>, err: unknown): void {
    if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort);
    if (err === undefined) {
      job.resolve(job.outputs);
      return;
    }
    // A job split over several batches fails once; drop what is still queued of it.
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#queued -= job.inputs.length - job.taken;
    }
    job.reject(err);
  }

  #next(): void {
    this.#running--;
    if (this.#queue.length > 0) {
      // Work piled up while we ran: run it now, no window (that is where batching pays).
      this.#flush();
      return;
    }
    if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  get #concurrency(): number {
    return this.#o.concurrency ?? 1;
  }

  /** Stops taking work; resolves once everything accepted has run. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
