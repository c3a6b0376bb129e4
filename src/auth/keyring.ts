/**
 * @module auth/keyring — our signing keys: one active key signs, retired keys stay published in
 * the JWKS until every token they signed has expired. `kid` is the RFC 7638 thumbprint. The
 * ring notices rotations made by the CLI (another process) through the key file's mtime.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SIGNING_ALGS } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { KeyFile, type ArchivedKey, type StoredKey } from './key-file.js';

/** Algorithms we sign with. */
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** A key ready for use. */
export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  createdAt: number;
  /** When it starts signing; until then it is only published. */
  activatesAt: number;
  retiredAt: number | null;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

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
  file: string;
  masterKey: string | undefined;
  alg: SigningAlg;
  clock: Clock;
  /** Seconds a retired key stays published: the longest token lifetime plus clock skew. */
  retention: number;
}

function generate(alg: SigningAlg): KeyObject {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

function publicPart(jwk: Record<string, unknown>): JWK {
  const out: Record<string, unknown> = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out;
}

/** The set of our signing keys. */
export class KeyRing {
  readonly #opts: KeyRingOptions;
  readonly #file: KeyFile;
  #keys: LoadedKey[] = [];
  #byKid = new Map<string, LoadedKey>();
  #jwks: { keys: JWK[] } = { keys: [] };
  #auditJwks: { keys: JWK[] } = { keys: [] };
  #mtime = 0;
  #lastCheck = 0;

  private constructor(opts: KeyRingOptions) {
    this.#opts = opts;
    this.#file = new KeyFile(opts.file, opts.masterKey);
  }

  /** Loads the key file, creating it with one fresh key on first start. */
  static async open(opts: KeyRingOptions): Promise<KeyRing> {
    mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
    const ring = new KeyRing(opts);
    await ring.#load();
    if (ring.#keys.every((k) => k.retiredAt !== null)) await ring.rotate();
    return ring;
  }

  async #load(): Promise<void> {
    const entries = this.#file.read();
    const loaded = await Promise.all(
      entries.map(({ key, privateJwk }) => toLoaded(key, privateJwk)),
    );
    this.#setKeys(loaded);
    // Every public key the ring ever had: those in the file (whatever their retention) and the
    // archived ones. Newest entry wins for a kid present in both.
    const all = new Map<string, JWK>();
    for (const a of this.#file.archive()) {
      all.set(a.kid, { ...publicPart(a.publicJwk), kid: a.kid, alg: a.alg, use: 'sig' });
    }
    for (const { key } of entries) {
      all.set(key.kid, { ...publicPart(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' });
    }
    this.#auditJwks = { keys: [...all.values()] };
    this.#mtime = this.#fileMtime();
  }

  #fileMtime(): number {
    try {
      return statSync(this.#opts.file).mtimeMs;
    } catch {
      return 0;
    }
  }

  #setKeys(keys: LoadedKey[]): void {
    const now = Math.floor(this.#opts.clock() / 1000);
    this.#keys = keys.filter(
      (k) => k.retiredAt === null || k.retiredAt + this.#opts.retention > now,
    );
    this.#byKid = new Map(this.#keys.map((k) => [k.kid, k]));
    this.#jwks = {
      keys: this.#keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })),
    };
  }

  /**
   * Re-reads the key file if another process changed it. Checks at most once per
   * `minIntervalMs` so a flood of unknown `kid`s cannot turn into a flood of stat calls.
   */
  async refresh(minIntervalMs = 1000): Promise<boolean> {
    const now = this.#opts.clock();
    if (now - this.#lastCheck < minIntervalMs) return false;
    this.#lastCheck = now;
    const mtime = this.#fileMtime();
    if (mtime === this.#mtime) {
      this.#setKeys(this.#keys); // drops keys whose retention ran out
      return false;
    }
    await this.#load();
    return true;
  }

  #isActive(k: LoadedKey, now: number): boolean {
    return k.activatesAt <= now && (k.retiredAt === null || k.retiredAt > now);
  }

  /** The key that signs new tokens: the newest one whose activation time has come. */
  signingKey(): LoadedKey {
    const now = Math.floor(this.#opts.clock() / 1000);
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
    const now = Math.floor(this.#opts.clock() / 1000);
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
   */
  async rotate(alg: SigningAlg = this.#opts.alg, activationDelay = 0): Promise<string> {
    // Start from the file so a rotation never drops keys another process added.
    const entries = this.#file.read();
    const now = Math.floor(this.#opts.clock() / 1000);
    const switchAt = now + activationDelay;
    const privateKey = generate(alg);
    const privateJwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const publicJwk = publicPart(privateJwk);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const retired = entries.map(({ key, privateJwk: pj }) => ({
      key: { ...key, retiredAt: Math.min(key.retiredAt ?? switchAt, switchAt) },
      privateJwk: pj,
    }));
    const kept: { key: StoredKey; privateJwk: Record<string, unknown> }[] = retired.filter(
      ({ key }) => key.retiredAt + this.#opts.retention > now,
    );
    // A key leaving the ring drops its private part only; the public part is archived.
    const archive: ArchivedKey[] = [...this.#file.archive()];
    for (const { key } of retired) {
      if (key.retiredAt + this.#opts.retention > now) continue;
      if (archive.some((a) => a.kid === key.kid)) continue;
      archive.push({
        kid: key.kid,
        alg: key.alg,
        createdAt: key.createdAt,
        retiredAt: key.retiredAt,
        publicJwk: publicPart(key.publicJwk),
      });
    }
    kept.push({
      key: {
        kid,
        alg,
        createdAt: now,
        activatesAt: switchAt,
        retiredAt: null,
        publicJwk,
        private: { enc: 'none', jwk: {} },
      },
      privateJwk,
    });
    this.#file.write(kept, archive);
    await this.#load();
    return kid;
  }
}

async function toLoaded(key: StoredKey, privateJwk: Record<string, unknown>): Promise<LoadedKey> {
  const alg = key.alg as SigningAlg;
  const [publicKey, privateKey] = await Promise.all([
    importJWK(key.publicJwk as JWK, alg) as Promise<CryptoKey>,
    importJWK(privateJwk as JWK, alg) as Promise<CryptoKey>,
  ]);
  return {
    kid: key.kid,
    alg,
    createdAt: key.createdAt,
    activatesAt: key.activatesAt ?? key.createdAt,
    retiredAt: key.retiredAt,
    publicJwk: key.publicJwk,
    publicKey,
    privateKey,
  };
}
