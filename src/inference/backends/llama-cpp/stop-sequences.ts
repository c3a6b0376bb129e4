/**
 * @module inference/backends/llama-cpp/stop-sequences — OpenAI stop sequences matched on generated text
 * as it streams: text is passed on as it arrives, except a tail that could be the start of a
 * stop sequence, held back until the next text shows whether it is; at the first stop sequence
 * the text ends just before it.
 *
 * Matching the decoded stream, not tokens, is what makes a stop that starts inside a token, or
 * with the space SentencePiece folds into the next word (`" The"`), end the text where OpenAI
 * would.
 */

/** Cuts a stream of text at the first of its stop sequences. */
export interface StopScanner {
  /** Takes generated text; returns true once a stop sequence is met (later text is ignored). */
  push(chunk: string): boolean;
  /** Passes on any held-back tail; call when generation ended for another reason. */
  flush(): void;
  /** Whether a stop sequence has been met. */
  readonly stopped: boolean;
}

/**
 * A scanner for `stops` (empty strings are ignored) that passes the text to keep to `emit`,
 * never with an empty string.
 */
export function createStopScanner(
  stops: readonly string[],
  emit: (text: string) => void,
): StopScanner {
  const live = stops.filter((s) => s !== '');
  let pending = '';
  let stopped = false;
  const pass = (text: string): void => {
    if (text !== '') emit(text);
  };

  /** Length of the longest end of `pending` that is a proper start of some stop sequence. */
  function heldLength(): number {
    let held = 0;
    for (const stop of live) {
      for (let k = Math.min(stop.length - 1, pending.length); k > held; k--) {
        if (pending.endsWith(stop.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  return {
    push(chunk) {
      if (stopped) return true;
      pending += chunk;
      // Text already passed on holds no start of a stop sequence, so the first match is here.
      let cut = -1;
      for (const stop of live) {
        const at = pending.indexOf(stop);
        if (at >= 0 && (cut < 0 || at < cut)) cut = at;
      }
      if (cut >= 0) {
        stopped = true;
        pass(pending.slice(0, cut));
        pending = '';
        return true;
      }
      const keep = pending.length - heldLength();
      pass(pending.slice(0, keep));
      pending = pending.slice(keep);
      return false;
    },
    flush() {
      if (!stopped) pass(pending);
      pending = '';
    },
    get stopped() {
      return stopped;
    },
  };
}
