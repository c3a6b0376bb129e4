/**
 * @module auth/revocations — revoked access-token ids and revoked clients, held in memory so the
 * hot path never touches the store. Local revocations apply at once; revocations made by other
 * replicas (or by the CLI on the same data dir) arrive through a periodic sync from the shared
 * store. A client revocation travels as a row of the same ordered feed, keyed `client:<id>` —
 * our own token ids are base64url and never contain a colon, so the two cannot collide.
 */
import type { RevocationStore } from '../store/index.js';

const CLIENT_PREFIX = 'client:';

/** The revocation-feed key of a revoked client. */
export function clientRevocationKey(clientId: string): string {
  return `${CLIENT_PREFIX}${clientId}`;
}

/**
 * How long a client revocation is kept, in seconds: longer than any access token can live
 * (auth.maxTokenLifetime is at most a day, plus clock skew), with an hour to spare for clocks
 * that differ between the machine that revoked and the replicas. Its refresh tokens stay useless
 * for good, since a revoked client can no longer authenticate.
 */
export const CLIENT_REVOCATION_RETENTION = 86_400 + 60 + 3600;

/** In-memory revocation list backed by the store. */
export class RevocationList {
  readonly #store: RevocationStore;
  readonly #revoked = new Map<string, number>();
  /** Revoked client id → when its entry may be forgotten (epoch seconds). */
  readonly #clients = new Map<string, number>();
  #cursor = 0;
  #syncing: Promise<void> | undefined;

  constructor(store: RevocationStore) {
    this.#store = store;
  }

  /** True if `jti` has been revoked. O(1), no I/O. */
  has(jti: string): boolean {
    return this.#revoked.has(jti);
  }

  /** True if the client has been revoked: none of its tokens is valid. O(1), no I/O. */
  clientRevoked(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** Revokes a token id until `exp` (epoch seconds), here and in the store. */
  async add(jti: string, exp: number): Promise<void> {
    this.#revoked.set(jti, exp);
    await this.#store.add({ jti, exp });
  }

  /** Records, here only, a client revoked at `revokedAt` (one the store already knows). */
  noteClient(clientId: string, revokedAt: number): void {
    this.#clients.set(clientId, revokedAt + CLIENT_REVOCATION_RETENTION);
  }

  #apply(key: string, exp: number): void {
    if (key.startsWith(CLIENT_PREFIX)) this.#clients.set(key.slice(CLIENT_PREFIX.length), exp);
    else this.#revoked.set(key, exp);
  }

  /** Pulls revocations made elsewhere and forgets expired ones. */
  sync(now: number): Promise<void> {
    this.#syncing ??= (async () => {
      try {
        for (;;) {
          const { items, cursor } = await this.#store.since(this.#cursor);
          for (const r of items) this.#apply(r.jti, r.exp);
          if (cursor === this.#cursor || items.length === 0) break;
          this.#cursor = cursor;
        }
        for (const [jti, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(jti);
        for (const [id, exp] of this.#clients) if (exp <= now) this.#clients.delete(id);
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }
}
