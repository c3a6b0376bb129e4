/**
 * @module store/keys-types — where the signing-key ring lives: one row holding the identity
 * area's key-ring document (JSON, private keys sealed by auth when a master key is set; the store
 * never looks inside) and a revision that only grows, changed by compare-and-swap alone.
 */

/** The key-ring document as stored. `updatedAt` is epoch seconds. */
export interface KeyRingRow {
  revision: number;
  document: string;
  updatedAt: number;
}

/** The one key-ring row every replica and the CLI share. */
export interface KeyRingStore {
  /** The ring; undefined until it is first written. */
  get(): Promise<KeyRingRow | undefined>;
  /** The current revision (0 until the first write): the cheap check for a change. */
  revision(): Promise<number>;
  /**
   * Compare-and-swap: stores `document` as revision `expected + 1` only if the current revision
   * is `expected` (0: no ring yet), and answers true; otherwise writes nothing and answers false.
   * Of any number of writers racing from one revision, exactly one wins.
   */
  put(expected: number, document: string, now: number): Promise<boolean>;
}
