/**
 * @module auth/revocations — the set of revoked access-token ids, held in memory so the hot path
 * never touches the store. Local revocations apply at once; revocations made by other replicas
 * arrive through a periodic sync from the shared store.
 */
import type { RevocationStore } from '../store/index.js';

/** In-memory revocation list backed by the store. */
export class RevocationList {
  readonly #store: RevocationStore;
  readonly #revoked = new Map<string, number>();
  #cursor = 0;
  #syncing: Promise<void> | undefined;

  constructor(store: RevocationStore) {
    this.#store = store;
  }

  /** True if `jti` has been revoked. O(1), no I/O. */
  has(jti: string): boolean {
    return this.#revoked.has(jti);
  }

  /** Revokes a token id until `exp` (epoch seconds), here and in the store. */
  async add(jti: string, exp: number): Promise<void> {
    this.#revoked.set(jti, exp);
    await this.#store.add({ jti, exp });
  }

  /** Pulls revocations made elsewhere and forgets expired ones. */
  sync(now: number): Promise<void> {
    this.#syncing ??= (async () => {
      try {
        for (;;) {
          const { items, cursor } = await this.#store.since(this.#cursor);
          for (const r of items) this.#revoked.set(r.jti, r.exp);
          if (cursor === this.#cursor || items.length === 0) break;
          this.#cursor = cursor;
        }
        for (const [jti, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(jti);
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }
}
