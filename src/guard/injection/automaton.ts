/**
 * @module guard/injection/automaton — an Aho–Corasick automaton over skeleton text: every
 * occurrence of every keyword in time linear in the text plus the number of hits.
 *
 * Transitions on the ASCII characters that occur in some keyword are precomputed into one flat
 * table (goto and failure links folded together, one array read per character); other code
 * units, and every one for a keyword set too large for the table, follow the goto maps and
 * failure links as usual. Both reach the same state.
 */

/** One keyword occurrence: `[start, end)` in the scanned string, `id` its index in the list. */
export interface Hit {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

/** Receives hits without an object per hit (the hot path). */
export interface HitSink {
  hit(id: number, start: number, end: number): void;
}

/** A compiled set of keywords. */
export interface Automaton {
  readonly scan: (text: string, onHit: (hit: Hit) => void) => void;
  /** Scans code units `codes[0, length)`, reporting to `sink` in the order `scan` would. */
  readonly scanCodes: (codes: ArrayLike<number>, length: number, sink: HitSink) => void;
  /**
   * For a pass that steps the automaton itself (the skeleton fold): the ASCII table, the
   * accepting states, the step for any code unit, and what an accepting state reports.
   */
  readonly stepper: Stepper;
}

/** See {@link Automaton.stepper}. */
export interface Stepper {
  readonly table: AsciiTable | undefined;
  /** 1 for a state where some keyword ends. */
  readonly accepts: Uint8Array;
  /** The code units that occur in some keyword: any other leads to the root. */
  readonly units: ReadonlySet<number>;
  /** The state after `node` reads code unit `c`. */
  step(node: number, c: number): number;
  /** Reports to `sink` the keywords that end in state `node` after position `i`, as scanCodes. */
  emit(node: number, i: number, sink: HitSink): void;
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
  // States renumbered breadth-first: the shallow states, where a scan of ordinary text spends
  // nearly all its steps, get the first rows of the table, a few pages instead of all of them
  // (what a scan whose table has left the cache between two requests pays for).
  const order = [0, ...queue];
  const rank = new Int32Array(order.length);
  order.forEach((old, i) => (rank[old] = i));
  const renumber = (old: number): number => rank[old] ?? 0;
  const goto = order.map(
    (old) => new Map([...(next[old] ?? [])].map(([c, to]) => [c, renumber(to)] as const)),
  );
  const failure = order.map((old) => renumber(fail[old] ?? 0));
  const outputs = order.map((old) => out[old] ?? []);
  return compiled(keywords, goto, failure, outputs);
}

/**
 * The automaton of a trie whose states are numbered breadth-first (`0` the root): goto maps,
 * failure links and the keywords ending in each state.
 */
function compiled(
  keywords: readonly string[],
  next: readonly Map<number, number>[],
  fail: readonly number[],
  out: readonly (readonly number[])[],
): Automaton {
  const lengths = keywords.map((k) => k.length);
  /** 1 for a state where some keyword ends. */
  const accepts = Uint8Array.from(out, (ids) => (ids.length > 0 ? 1 : 0));
  const table = asciiTable(next, fail);
  const units = new Set<number>();
  for (const word of keywords) for (let i = 0; i < word.length; i++) units.add(word.charCodeAt(i));

  /** The state after `node` reads code unit `c`. */
  const step = (node: number, c: number): number => {
    if (c < 128 && table !== undefined) {
      const col = table.column[c] ?? 0;
      // an ASCII character in no keyword leads back to the root from every state
      return col === 0 ? 0 : (table.delta[node * table.width + col - 1] ?? 0);
    }
    if (!units.has(c)) return 0; // in no keyword: no goto, every failure link walked
    let state = node;
    let to = next[state]?.get(c);
    while (to === undefined && state !== 0) {
      state = fail[state] ?? 0;
      to = next[state]?.get(c);
    }
    return to ?? 0;
  };
  const stepper: Stepper = {
    table,
    accepts,
    units,
    step,
    emit(node, i, sink) {
      for (const id of out[node] ?? []) sink.hit(id, i + 1 - (lengths[id] ?? 0), i + 1);
    },
  };
  return {
    stepper,
    scan(text, onHit) {
      let node = 0;
      for (let i = 0; i < text.length; i++) {
        node = step(node, text.charCodeAt(i));
        const ids = out[node];
        if (ids === undefined || ids.length === 0) continue;
        for (const id of ids) onHit({ id, start: i + 1 - (lengths[id] ?? 0), end: i + 1 });
      }
    },
    scanCodes(codes, length, sink) {
      let node = 0;
      // `step` inlined for the table (the hot loop of every prompt), `accepts` read before `out`
      const column = table?.column;
      const delta = table?.delta;
      const width = table?.width ?? 0;
      for (let i = 0; i < length; i++) {
        const c = codes[i] ?? 0;
        if (c < 128 && column !== undefined && delta !== undefined) {
          const col = column[c] ?? 0;
          node = col === 0 ? 0 : (delta[node * width + col - 1] ?? 0);
        } else node = step(node, c);
        if (accepts[node] !== 1) continue;
        for (const id of out[node] ?? []) sink.hit(id, i + 1 - (lengths[id] ?? 0), i + 1);
      }
    },
  };
}

/** Transitions on the ASCII characters of the keywords, goto and failure links folded in. */
export interface AsciiTable {
  /** `column[c]` is 1 + the column of ASCII code `c`, or 0 when no keyword holds `c`. */
  readonly column: Uint8Array;
  readonly width: number;
  /** `delta[node * width + column]`: the state after reading that character in `node`. */
  readonly delta: Uint16Array | Int32Array;
}

/** Entries beyond which the table is not built (8 MB at most); the maps alone still work. */
const MAX_TABLE = 1 << 21;

/** Folds goto and failure links into a table for the ASCII characters of the keywords. */
function asciiTable(
  next: readonly Map<number, number>[],
  fail: readonly number[],
): AsciiTable | undefined {
  const column = new Uint8Array(128);
  let width = 0;
  for (const edges of next) {
    for (const c of edges.keys()) if (c < 128 && column[c] === 0) column[c] = ++width;
  }
  const size = next.length * width;
  if (size > MAX_TABLE) return undefined;
  // the prompt phrases with their ROT13: 6,982 states × 26 letters, 363 KB as 16-bit numbers
  const delta = next.length <= 0x10000 ? new Uint16Array(size) : new Int32Array(size);
  // States are numbered breadth-first: a state's failure target is shallower, so its row is
  // already complete when the state's own is filled.
  for (let node = 0; node < next.length; node++) {
    const edges = next[node];
    const back = (fail[node] ?? 0) * width;
    for (let c = 0; c < 128; c++) {
      const col = column[c] ?? 0;
      if (col === 0) continue;
      const to = edges?.get(c);
      delta[node * width + col - 1] = to ?? (node === 0 ? 0 : (delta[back + col - 1] ?? 0));
    }
  }
  return { column, width, delta };
}
