/**
 * @module lib/abort — cancellation that costs nothing until someone needs a real AbortSignal.
 * Every HTTP request that may run a model has one (its client may go away), but constructing an
 * AbortController, with its EventTarget, costs several µs plus garbage on Node 20 — a large part
 * of a fast request. Schedulers only ask `aborted` and register a listener, which `LazyAbort`
 * answers from two fields; the AbortSignal is made the first time a backend asks for one.
 */

/** A listener of the `abort` event: a function, or an object with `handleEvent`. */
export type AbortListener = ((event: Event) => void) | { handleEvent(event: Event): void };

/** What a scheduler needs of a cancellation; an AbortSignal is one. */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/** An abortable cancellation whose AbortSignal is created only when asked for. */
export class LazyAbort implements AbortLike {
  #aborted = false;
  #controller: AbortController | undefined;
  /** Listeners registered before any AbortSignal existed (most requests: zero or one). */
  #listeners: AbortListener[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** A real AbortSignal that follows this one (created on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  addEventListener(_type: 'abort', listener: AbortListener, _options?: { once?: boolean }): void {
    // Every listener here is called once at most, as `{ once: true }` asks: abort fires once.
    if (this.#aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const ls = this.#listeners;
    if (ls === undefined) return;
    const i = ls.indexOf(listener);
    if (i >= 0) ls.splice(i, 1);
  }

  /** Fires once: listeners, then the AbortSignal if one was made. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const ls = this.#listeners;
    this.#listeners = undefined;
    const event = new Event('abort');
    if (ls !== undefined) {
      for (const l of ls) {
        if (typeof l === 'function') l(event);
        else l.handleEvent(event);
      }
    }
    this.#controller?.abort();
  }
}

/** The AbortSignal of `a`: itself when it is one, else its lazily made signal. */
export function abortSignalOf(a: AbortLike): AbortSignal {
  return a instanceof LazyAbort ? a.signal : (a as AbortSignal);
}
