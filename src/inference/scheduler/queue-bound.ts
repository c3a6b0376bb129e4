/**
 * @module inference/scheduler/queue-bound — how a model's `maxQueue` is shared among
 * identities, so that one caller cannot fill it and a new caller always finds room.
 *
 * The unit is what the scheduler queues: inputs for the batcher, requests for generation slots;
 * only work that waits counts (not what already runs). With `maxQueue` = Q:
 *
 * - **Share.** An identity may have at most `share` = ⌈Q/4⌉ units waiting. One exception: an
 *   identity with nothing waiting may submit a request of any size (the API bounds it, e.g.
 *   2,048 inputs), so a large request is delayed, never refused for its size alone. Toward the
 *   total, an identity counts at most `share`: the rest of a large request waits behind its own
 *   identity and cannot crowd out anyone else.
 * - **Reserve.** The counted total may reach Q only through *light newcomers*: requests of at
 *   most `share` units from identities with nothing waiting. Everyone else (identities that
 *   already wait, and large requests) may fill only Q − `share`. So the last `share` units stay
 *   free for callers that are not yet waiting: while A, C and D each queue 2,048 inputs, B's
 *   one-line request still gets in (Q = 256: A, C and D count 64 each, B finds 64 free).
 * - **Empty queue.** A queue with nothing waiting refuses nothing (as before: a tiny `maxQueue`
 *   still serves a request larger than itself).
 *
 * The counted total never exceeds Q; the real backlog is at most Q plus the excess of the few
 * large requests (at most Q/`share` − 1 = 3 of them), so it stays bounded however many
 * identities call.
 */

/** The admission rule of one scheduler's queue (see the module notes). */
export class QueueBound {
  /** Most units one identity may have waiting (counted), ⌈maxQueue/4⌉. */
  readonly share: number;
  readonly #max: number;
  /** Σ over identities of min(waiting, share). */
  #counted = 0;

  constructor(maxQueue: number) {
    this.#max = maxQueue;
    this.share = Math.max(1, Math.ceil(maxQueue / 4));
  }

  /** The counted total (tests, metrics). */
  get counted(): number {
    return this.#counted;
  }

  /** Whether an identity with `waiting` units waiting may add a request of `n` more. */
  admits(waiting: number, n: number): boolean {
    if (this.#counted === 0) return true;
    if (waiting > 0 && waiting + n > this.share) return false;
    const after = this.#counted - this.#count(waiting) + this.#count(waiting + n);
    const light = waiting === 0 && n <= this.share;
    return after <= (light ? this.#max : this.#max - this.share);
  }

  /** Records that an identity's waiting units went from `before` to `after`. */
  update(before: number, after: number): void {
    this.#counted += this.#count(after) - this.#count(before);
  }

  #count(waiting: number): number {
    return Math.min(waiting, this.share);
  }
}
