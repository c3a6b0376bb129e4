/**
 * @module inference/backends/tfjs-tokenizer — the USE-lite SentencePiece tokenizer in linear
 * time. It is the algorithm of `@energetic-ai/embeddings`' `Tokenizer.encode` (same trie, same
 * Viterbi pass, same tie-breaking, same merging of unknown pieces), with one change: the trie is
 * searched with a window of the longest piece instead of a copy of the rest of the input. The
 * original copies the remaining symbols at every position, which is O(n²): 50,000 characters
 * took ~4.8 s there (event loop blocked), and ~50 ms here.
 */

/** `[symbols, score, vocabulary index]`, as `Trie.commonPrefixSearch` returns them. */
export type TriePiece = [string[], number | null, number];

/** The part of `@energetic-ai/embeddings`' Trie that the tokenizer uses. */
export interface PieceTrie {
  commonPrefixSearch(symbols: string[]): TriePiece[];
}

/**
 * SentencePiece vocabulary: `[piece, log-probability score]`, indexed by token id. The bundled
 * file has `null` scores for a few pieces (`:`, `://`, …); JavaScript arithmetic treats them as
 * 0 in the original, and so does this port.
 */
export type Vocabulary = readonly (readonly [string, number | null])[];

/** Encodes text into USE-lite token ids. */
export interface UseTokenizer {
  /**
   * Token ids of `text`. No special tokens are added (USE-lite has no `<s>`/`</s>` framing):
   * the ids are the SentencePiece pieces, including `▁` word-boundary pieces, after NFKC
   * normalisation. Runs of unknown characters collapse into one unknown id (0). `''` → `[]`.
   */
  encode(text: string): number[];
}

const SEPARATOR = '\u2581';

/** Checks that parsed `vocab.json` has the `[[piece, score], …]` shape. */
export function isVocabulary(value: unknown): value is Vocabulary {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (entry) =>
        Array.isArray(entry) &&
        entry.length === 2 &&
        typeof entry[0] === 'string' &&
        entry[0].length > 0 &&
        (entry[1] === null || (typeof entry[1] === 'number' && Number.isFinite(entry[1]))),
    )
  );
}

interface Candidate {
  length: number;
  score: number;
  index: number;
}

/**
 * Builds a tokenizer over `trie` (the one `@energetic-ai/embeddings` built from `vocabulary`,
 * which skips the reserved ids) and `vocabulary`.
 */
export function createUseTokenizer(vocabulary: Vocabulary, trie: PieceTrie): UseTokenizer {
  let window = 1;
  for (const [piece] of vocabulary) window = Math.max(window, Array.from(piece).length);
  // Backtracking steps by the piece's UTF-16 length, exactly as the original does.
  const stepOf = vocabulary.map(([piece]) => Math.max(1, piece.length));

  function encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const symbols = Array.from(SEPARATOR + normalized.replaceAll(' ', SEPARATOR));
    const n = symbols.length;
    // ends[e] maps start → candidates ending at e; Map keeps ascending start order like the
    // original's integer-keyed object, so ties resolve the same way.
    const ends = Array.from({ length: n + 1 }, () => new Map<number, Candidate[]>());
    for (let i = 0; i < n; i++) {
      for (const [piece, score, index] of trie.commonPrefixSearch(symbols.slice(i, i + window))) {
        const at = ends[i + piece.length];
        if (at === undefined) continue;
        const list = at.get(i);
        const candidate = { length: piece.length, score: score ?? 0, index };
        if (list === undefined) at.set(i, [candidate]);
        else list.push(candidate);
      }
    }
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    for (let end = 0; end <= n; end++) {
      for (const list of (ends[end] ?? new Map<number, Candidate[]>()).values()) {
        for (const c of list) {
          const score = c.score + (best[end - c.length] ?? 0);
          if (best[end] === 0 || score >= (best[end] ?? 0)) {
            best[end] = score;
            words[end] = c.index;
          }
        }
      }
    }
    const reversed: number[] = [];
    for (let at = n; at > 0;) {
      const id = words[at] ?? 0;
      reversed.push(id);
      at -= stepOf[id] ?? 1;
    }
    const ids: number[] = [];
    let previousUnknown = false;
    for (const id of reversed) {
      if (!(previousUnknown && id === 0)) ids.push(id);
      previousUnknown = id === 0;
    }
    return ids.reverse();
  }

  return { encode };
}
