/**
 * @module inference/scheduler/deadlines — the one deadline mechanism of a scheduler: the
 * deadlines of its waiting and running jobs in a min-heap, and one timer for the earliest.
 *
 * Why not `AbortSignal.timeout` + `AbortSignal.any` per request: on the echo chat route they
 * cost ~9% of busy CPU (a timer, a signal, weak references and listeners per request, plus GC).
 * Here a request costs a heap push and pop. The timer is re-armed only when a new deadline is
 * earlier than the armed one; removing the earliest leaves the timer in place (it wakes up once
 * for nothing and re-arms for the next), and the timer is cleared when the heap empties, so an
 * idle scheduler holds no timer.
 */

/** What a deadline calls: a function, or an object's `onDeadline` (no closure per request). */
export type OnDeadline = (() => void) | { onDeadline(): void };

/** One registered deadline; keep it to {@link Deadlines.delete} it. */
export interface Deadline {
  /** When it expires, on the scheduler's clock (ms). */
  readonly at: number;
  /** Position in the heap; -1 once expired or deleted. */
  pos: number;
  readonly fire: OnDeadline;
}

/** A set of deadlines with one timer for the earliest. */
export class Deadlines {
  readonly #now: () => number;
  readonly #heap: Deadline[] = [];
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;

  /** `now`: a monotonic clock in ms (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Deadlines registered and not yet expired or deleted. */
  get size(): number {
    return this.#heap.length;
  }

  /** Whether a timer is armed (tests: an idle scheduler leaves none behind). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Calls `fire` once, `ms` from now, unless deleted before. */
  add(ms: number, fire: OnDeadline): Deadline {
    const d: Deadline = { at: this.#now() + ms, pos: this.#heap.length, fire };
    this.#heap.push(d);
    this.#up(d.pos);
    if (d.at < this.#armedAt) this.#arm(d.at);
    return d;
  }

  /** Forgets `d`; a no-op if it already fired or was deleted. */
  delete(d: Deadline): void {
    const i = d.pos;
    if (i < 0) return;
    d.pos = -1;
    const last = this.#heap.pop();
    if (last !== undefined && last !== d) {
      this.#heap[i] = last;
      last.pos = i;
      this.#down(i);
      this.#up(last.pos);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(this.#expire, Math.max(0, Math.ceil(at - this.#now())));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = this.#now();
    for (let d = this.#heap[0]; d !== undefined && d.at <= now; d = this.#heap[0]) {
      this.delete(d);
      const { fire } = d;
      if (typeof fire === 'function') fire();
      else fire.onDeadline();
    }
    const next = this.#heap[0];
    // A `fire` may have armed the timer for a later deadline than the earliest left.
    if (next !== undefined && next.at < this.#armedAt) this.#arm(next.at);
  };

  #at(i: number): number {
    return this.#heap[i]?.at ?? Infinity;
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i];
    const b = this.#heap[j];
    if (a === undefined || b === undefined) return;
    this.#heap[i] = b;
    this.#heap[j] = a;
    b.pos = i;
    a.pos = j;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at(parent) <= this.#at(i)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (this.#at(l) < this.#at(m)) m = l;
      if (this.#at(l + 1) < this.#at(m)) m = l + 1;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
