/**
 * @module guard/injection/automaton — an Aho–Corasick automaton over skeleton text: every
 * occurrence of every keyword in time linear in the text plus the number of hits.
 */

/** One keyword occurrence: `[start, end)` in the scanned string, `id` its index in the list. */
export interface Hit {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

/** A compiled set of keywords. */
export interface Automaton {
  readonly scan: (text: string, onHit: (hit: Hit) => void) => void;
}

/** Compiles `keywords` (non-empty strings) into an automaton. */
export function buildAutomaton(keywords: readonly string[]): Automaton {
  const next: Map<number, number>[] = [new Map<number, number>()];
  const fail: number[] = [0];
  const out: number[][] = [[]];
  keywords.forEach((word, id) => {
    let node = 0;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      let child = next[node]?.get(c);
      if (child === undefined) {
        child = next.length;
        next.push(new Map<number, number>());
        fail.push(0);
        out.push([]);
        next[node]?.set(c, child);
      }
      node = child;
    }
    if (word.length > 0) out[node]?.push(id);
  });
  const queue: number[] = [];
  for (const child of next[0]?.values() ?? []) queue.push(child);
  // The queue grows while it is walked (breadth-first order); for-of visits the new entries.
  for (const node of queue) {
    for (const [c, child] of next[node] ?? []) {
      queue.push(child);
      let f = fail[node] ?? 0;
      while (f !== 0 && !(next[f]?.has(c) ?? false)) f = fail[f] ?? 0;
      const target = next[f]?.get(c);
      fail[child] = target !== undefined && target !== child ? target : 0;
      out[child]?.push(...(out[fail[child] ?? 0] ?? []));
    }
  }
  const lengths = keywords.map((k) => k.length);
  return {
    scan(text, onHit) {
      let node = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        let step = next[node]?.get(c);
        while (step === undefined && node !== 0) {
          node = fail[node] ?? 0;
          step = next[node]?.get(c);
        }
        node = step ?? 0;
        const ids = out[node];
        if (ids === undefined || ids.length === 0) continue;
        for (const id of ids) onHit({ id, start: i + 1 - (lengths[id] ?? 0), end: i + 1 });
      }
    },
  };
}
