/**
 * @module inference/backends/tfjs/tokenizer — the USE-lite SentencePiece tokenizer in linear
 * time. It is the algorithm of `@energetic-ai/embeddings`' `Tokenizer.encode` (same trie, same
 * Viterbi pass, same tie-breaking, same merging of unknown pieces), with two changes: the trie is
 * walked along the input instead of searched with a copy of the rest of it, and the Viterbi
 * scores are relaxed forwards into typed arrays instead of collected per end first. The
 * original copies the remaining symbols at every position, which is O(n²): 50,000 characters
 * took ~4.8 s there (event loop blocked) and ~3 ms here; a 19-token sentence takes ~14 µs.
 */

/** `[symbols, score, vocabulary index]` of a trie node that ends a piece. */
export type TriePiece = [string[], number | null, number];

/** A node of `@energetic-ai/embeddings`' Trie: children by symbol (one code point). */
export interface PieceNode {
  readonly children: Readonly<Record<string, PieceNode | undefined>>;
  readonly end: boolean;
  readonly word: TriePiece;
}

/** The part of `@energetic-ai/embeddings`' Trie that the tokenizer uses: its root. */
export interface PieceTrie {
  readonly root: PieceNode;
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
    // Viterbi, relaxed forwards: best[e] is the best score of a split of symbols[0, e). Starts
    // are visited in ascending order, so each end sees its candidates in the order the
    // original's second pass does and ties resolve the same way (`>=`: the later start wins;
    // a best of exactly 0 is taken over, as there).
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    const relax = (start: number, length: number, score: number, index: number) => {
      const end = start + length;
      const total = score + (best[start] ?? 0);
      if (best[end] === 0 || total >= (best[end] ?? 0)) {
        best[end] = total;
        words[end] = index;
      }
    };
    for (let i = 0; i < n; i++) {
      // Every piece starting at i: walk the trie along the input, no copies.
      let found = false;
      let node = trie.root.children[symbols[i] ?? ''];
      for (let k = i; node !== undefined && k - i < window; k++) {
        if (node.end) {
          const [piece, score, index] = node.word;
          relax(i, piece.length, score ?? 0, index);
          found = true;
        }
        node = k + 1 < n ? node.children[symbols[k + 1] ?? ''] : undefined;
      }
      // No piece: the symbol alone, as unknown (id 0, score 0), as commonPrefixSearch does.
      if (!found) relax(i, 1, 0, 0);
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
