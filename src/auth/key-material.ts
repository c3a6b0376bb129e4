/**
 * @module auth/key-material — the keys themselves: generating a pair, the entry a rotation adds
 * and retires, and importing a stored key for signing and verifying (checked against its
 * public part and `kid` on the way).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SIGNING_ALGS } from '../config/schema.js';
import {
  KeyDecryptError,
  type ArchivedKey,
  type KeyEntry,
  type KeyRingContent,
  type StoredKey,
} from './key-document.js';

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

export const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** The public members of a JWK. */
export function publicPart(jwk: Record<string, unknown>): JWK {
  const out: Record<string, unknown> = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out;
}

/** A fresh key pair as a ring entry (not yet retired, signing from `activatesAt`). */
export async function newEntry(
  alg: SigningAlg,
  now: number,
  activatesAt: number,
): Promise<KeyEntry> {
  const privateJwk = generate(alg).export({ format: 'jwk' }) as Record<string, unknown>;
  const publicJwk = publicPart(privateJwk);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const key: StoredKey = {
    kid,
    alg,
    createdAt: now,
    activatesAt,
    retiredAt: null,
    publicJwk,
    private: { enc: 'none', jwk: {} },
  };
  return { key, privateJwk };
}

/**
 * `content` with every key retired by `switchAt` and `added` appended; keys whose retention has
 * passed leave the ring, their public part going to the archive (private parts are dropped).
 */
export function withKey(
  content: KeyRingContent,
  added: KeyEntry,
  now: number,
  switchAt: number,
  retention: number,
): KeyRingContent {
  const retired = content.entries.map(({ key, privateJwk }) => ({
    key: { ...key, retiredAt: Math.min(key.retiredAt ?? switchAt, switchAt) },
    privateJwk,
  }));
  const kept: KeyEntry[] = retired.filter(({ key }) => key.retiredAt + retention > now);
  const archive: ArchivedKey[] = [...content.archive];
  for (const { key } of retired) {
    if (key.retiredAt + retention > now) continue;
    if (archive.some((a) => a.kid === key.kid)) continue;
    archive.push({
      kid: key.kid,
      alg: key.alg,
      createdAt: key.createdAt,
      retiredAt: key.retiredAt,
      publicJwk: publicPart(key.publicJwk),
    });
  }
  kept.push(added);
  return { salt: content.salt, entries: kept, archive };
}

/**
 * A stored key, imported. The private key must be the pair of the public key and the `kid` its
 * thumbprint: a row whose public part was swapped (say, by someone with write access to the
 * database) would otherwise publish a key we never had.
 */
export async function toLoaded({ key, privateJwk }: KeyEntry): Promise<LoadedKey> {
  const alg = key.alg as SigningAlg;
  const publicJwk = publicPart(key.publicJwk);
  const derived = publicPart(privateJwk);
  const matches =
    PUBLIC_MEMBERS.every((m) => publicJwk[m] === derived[m]) &&
    (await calculateJwkThumbprint(publicJwk, 'sha256').catch(() => '')) === key.kid;
  if (!matches) throw new KeyDecryptError(`signing key ${key.kid} does not match its public key`);
  const [publicKey, privateKey] = await Promise.all([
    importJWK(key.publicJwk as JWK, alg) as Promise<CryptoKey>,
    importJWK(privateJwk as JWK, alg) as Promise<CryptoKey>,
  ]).catch(() => {
    throw new KeyDecryptError(`signing key ${key.kid} cannot be loaded`);
  });
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
