/**
 * @module auth/keyring — our signing keys: one active key signs, retired keys stay published in
 * the JWKS until every token they signed has expired. `kid` is the RFC 7638 thumbprint. The ring
 * lives in the store (one row, replaced by compare-and-swap on its revision), so every replica
 * and the CLI share it: `refresh()` notices a rotation made elsewhere by the revision.
 */
import type { JWK } from 'jose';
import { ConflictError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { KeyRingStore } from '../store/index.js';
import { KeyCodec, KeyDecryptError, type KeyEntry, type KeyRingContent } from './key-document.js';
import { readKeyFile, retireKeyFile } from './key-file.js';
import {
  newEntry,
  publicPart,
  toLoaded,
  withKey,
  type LoadedKey,
  type SigningAlg,
} from './key-material.js';

export type { LoadedKey, SigningAlg } from './key-material.js';

/** What `keys list` shows. */
export interface KeyInfo {
  kid: string;
  alg: string;
  createdAt: number;
  activatesAt: number;
  retiredAt: number | null;
  /** When it leaves the JWKS (retired keys only). */
  expiresAt: number | null;
  active: boolean;
}

export interface KeyRingOptions {
  /** Where the ring lives (`store.keys`). */
  store: KeyRingStore;
  /** A key file of an earlier version, imported (then renamed) while the store holds no ring. */
  legacyFile?: string | undefined;
  masterKey: string | undefined;
  alg: SigningAlg;
  clock: Clock;
  /** Seconds a retired key stays published: the longest token lifetime plus clock skew. */
  retention: number;
}

/** Writers racing on the ring each lose at most once per other winner; this bounds the retries. */
const MAX_ATTEMPTS = 10;
const IN_STORE = 'the key ring in the store';

/** The set of our signing keys. */
export class KeyRing {
  readonly #opts: KeyRingOptions;
  readonly #codec: KeyCodec;
  #keys: LoadedKey[] = [];
  #byKid = new Map<string, LoadedKey>();
  #jwks: { keys: JWK[] } = { keys: [] };
  #auditJwks: { keys: JWK[] } = { keys: [] };
  /** The store revision the ring was loaded from (0: none yet). */
  #revision = 0;
  #lastCheck = Number.NEGATIVE_INFINITY;
  #checking: Promise<boolean> | undefined;

  private constructor(opts: KeyRingOptions) {
    this.#opts = opts;
    this.#codec = new KeyCodec(opts.masterKey);
  }

  /**
   * Loads the ring from the store. On first start it imports `legacyFile` if there is one, or
   * else creates one fresh key; of several processes starting at once, one writes and the others
   * load what it wrote. A ring stored in the clear is sealed once a master key is set. A ring
   * that cannot be unsealed or read rejects with KeyDecryptError: it is never replaced.
   */
  static async open(opts: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(opts);
    if (opts.legacyFile !== undefined) await ring.#importFile(opts.legacyFile);
    let fresh: KeyEntry | undefined;
    await ring.#update(async (content, now) => {
      if (content.entries.some(({ key }) => key.retiredAt === null)) {
        // A master key set since the ring was written: seal what is stored in the clear now.
        return opts.masterKey !== undefined && content.inClear === true ? content : undefined;
      }
      fresh ??= await newEntry(opts.alg, now, now);
      return withKey(content, fresh, now, now, opts.retention);
    });
    // Just loaded: the first refresh() is due a full interval from now.
    ring.#lastCheck = opts.clock();
    return ring;
  }

  /** The revision of the store row this ring was last loaded from. */
  get revision(): number {
    return this.#revision;
  }

  #now(): number {
    return Math.floor(this.#opts.clock() / 1000);
  }

  async #importFile(path: string): Promise<void> {
    if ((await this.#opts.store.revision()) !== 0) return;
    const text = readKeyFile(path);
    if (text === undefined) return;
    // Unsealed and loaded first: a wrong master key or a damaged file fails here, writing nothing.
    const content = this.#codec.parse(text, `key file ${path}`);
    await Promise.all(content.entries.map(toLoaded));
    const document = this.#codec.serialize(content);
    // Lost: another process created the ring first (and, sharing the data dir, renames the file).
    if (await this.#opts.store.put(0, document, this.#now())) retireKeyFile(path);
  }

  /**
   * Applies `change` to the newest ring in the store by compare-and-swap, re-reading and
   * re-applying it when another writer got in between; `change` answers undefined for "nothing
   * to do". Either way the ring ends loaded from what the store holds.
   */
  async #update(
    change: (content: KeyRingContent, now: number) => Promise<KeyRingContent | undefined>,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const row = await this.#opts.store.get();
      const current =
        row === undefined
          ? { entries: [], archive: [] }
          : this.#codec.parse(row.document, IN_STORE);
      const now = this.#now();
      const next = await change(current, now);
      if (next === undefined) {
        if (row !== undefined) await this.#apply(row.revision, current);
        return;
      }
      const expected = row?.revision ?? 0;
      if (await this.#opts.store.put(expected, this.#codec.serialize(next), now)) {
        await this.#apply(expected + 1, next);
        return;
      }
    }
    throw new ConflictError('the signing keys kept changing during the update; try again');
  }

  async #apply(revision: number, content: KeyRingContent): Promise<void> {
    const loaded = await Promise.all(content.entries.map(toLoaded));
    // A slower load of an older revision (a refresh racing a rotation) must not win.
    if (revision < this.#revision) return;
    this.#setKeys(loaded);
    // Every public key the ring ever had: those in the ring (whatever their retention) and the
    // archived ones. The ring's entry wins for a kid present in both.
    const all = new Map<string, JWK>();
    for (const a of content.archive) {
      all.set(a.kid, { ...publicPart(a.publicJwk), kid: a.kid, alg: a.alg, use: 'sig' });
    }
    for (const { key } of content.entries) {
      all.set(key.kid, { ...publicPart(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' });
    }
    this.#auditJwks = { keys: [...all.values()] };
    this.#revision = revision;
  }

  #setKeys(keys: LoadedKey[]): void {
    const now = this.#now();
    this.#keys = keys.filter(
      (k) => k.retiredAt === null || k.retiredAt + this.#opts.retention > now,
    );
    this.#byKid = new Map(this.#keys.map((k) => [k.kid, k]));
    this.#jwks = {
      keys: this.#keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })),
    };
  }

  /**
   * Reloads the ring if another process (a replica, the CLI) changed it, which one cheap query
   * for the revision tells. Checks at most once per `minIntervalMs` so a flood of unknown `kid`s
   * cannot turn into a flood of queries; concurrent callers share one check. Rejects (keeping
   * the keys it has) when the store cannot be read or the new ring cannot be unsealed.
   */
  async refresh(minIntervalMs = 1000): Promise<boolean> {
    if (this.#checking !== undefined) return this.#checking;
    const now = this.#opts.clock();
    if (now - this.#lastCheck < minIntervalMs) return false;
    this.#lastCheck = now;
    this.#checking = this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<boolean> {
    const revision = await this.#opts.store.revision();
    if (revision === this.#revision) {
      this.#setKeys(this.#keys); // drops keys whose retention ran out
      return false;
    }
    const row = await this.#opts.store.get();
    if (row === undefined) throw new KeyDecryptError('the key ring is gone from the store');
    await this.#apply(row.revision, this.#codec.parse(row.document, IN_STORE));
    return true;
  }

  #isActive(k: LoadedKey, now: number): boolean {
    return k.activatesAt <= now && (k.retiredAt === null || k.retiredAt > now);
  }

  /** The key that signs new tokens: the newest one whose activation time has come. */
  signingKey(): LoadedKey {
    const now = this.#now();
    const active = this.#keys.filter((k) => this.#isActive(k, now)).at(-1);
    if (active === undefined) throw new Error('no active signing key');
    return active;
  }

  /** A published key by `kid`; undefined for unknown or expired-out keys. */
  get(kid: string): LoadedKey | undefined {
    const key = this.#byKid.get(kid);
    // Retention is checked here too: a replica that only verifies may never call refresh().
    if (
      key?.retiredAt != null &&
      key.retiredAt + this.#opts.retention <= this.#opts.clock() / 1000
    ) {
      return undefined;
    }
    return key;
  }

  /** The public JWK Set (same object until keys change). */
  jwks(): { keys: JWK[] } {
    return this.#jwks;
  }

  /**
   * Every public key this ring ever had, retired and expired ones included (JWKS format): what
   * audit checkpoints and receipts are verified against long after their key stopped signing.
   * The token JWKS ({@link jwks}) is unchanged by it.
   */
  auditJwks(): { keys: JWK[] } {
    return this.#auditJwks;
  }

  /** Summary for operators. */
  list(): KeyInfo[] {
    const now = this.#now();
    return this.#keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      createdAt: k.createdAt,
      activatesAt: k.activatesAt,
      retiredAt: k.retiredAt,
      expiresAt: k.retiredAt === null ? null : k.retiredAt + this.#opts.retention,
      active: this.#isActive(k, now),
    }));
  }

  /**
   * Adds a new signing key; returns its `kid`. The new key is published at once and starts
   * signing after `activationDelay` seconds, when the current keys retire: verifiers that cache
   * the JWKS learn the key before they see a token signed with it. Use 0 after a compromise.
   * Applied to the newest ring in the store, so two rotations at once both land, one after the
   * other (the later one retires the earlier one's key at its own switch time).
   */
  async rotate(alg: SigningAlg = this.#opts.alg, activationDelay = 0): Promise<string> {
    const now = this.#now();
    const added = await newEntry(alg, now, now + activationDelay);
    await this.#update((content, at) => {
      const switchAt = at + activationDelay;
      const entry = { ...added, key: { ...added.key, createdAt: at, activatesAt: switchAt } };
      return Promise.resolve(withKey(content, entry, at, switchAt, this.#opts.retention));
    });
    return added.key.kid;
  }
}
