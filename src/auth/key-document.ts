/**
 * @module auth/key-document — the key-ring document: every signing key with its private JWK,
 * and the archived public keys, as JSON. Private keys are sealed with AES-256-GCM (the `kid` as
 * additional data) under a key derived (scrypt) from GATEHOUSE_MASTER_KEY when it is set; without
 * one they are kept in the clear. The same format the key file of earlier versions held.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../errors.js';

const b64u = z.string().regex(/^[A-Za-z0-9_-]*$/);
const jwkObject = z.record(z.string(), z.unknown());

const sealedPrivateSchema = z.discriminatedUnion('enc', [
  z.strictObject({ enc: z.literal('none'), jwk: jwkObject }),
  z.strictObject({ enc: z.literal('A256GCM'), iv: b64u, tag: b64u, data: b64u }),
]);

const storedKeySchema = z.looseObject({
  kid: z.string().min(1).max(256),
  alg: z.string().min(1).max(32),
  createdAt: z.number().int(),
  /** When it stopped signing; it stays published until every token it signed has expired. */
  retiredAt: z.number().int().nullable(),
  /** When it starts signing (published before that, so verifiers' caches learn it first). */
  activatesAt: z.number().int().optional(),
  publicJwk: jwkObject,
  private: sealedPrivateSchema,
});

/**
 * The public part of a key that left the ring (its retention passed): kept for good, so audit
 * checkpoints and receipts it signed stay verifiable. Never holds private material.
 */
const archivedKeySchema = z.strictObject({
  kid: z.string().min(1).max(256),
  alg: z.string().min(1).max(32),
  createdAt: z.number().int(),
  retiredAt: z.number().int().nullable(),
  publicJwk: jwkObject.refine((j) => j.d === undefined, 'a public key'),
});

const documentSchema = z.looseObject({
  version: z.literal(1),
  /** scrypt salt for the master key, present once any key has been sealed. */
  salt: b64u.optional(),
  keys: z.array(storedKeySchema),
  archive: z.array(archivedKeySchema).optional(),
});

/** A retired key's public part, kept after it left the ring. */
export type ArchivedKey = z.infer<typeof archivedKeySchema>;

/** A private JWK, sealed or not. */
export type SealedPrivate = z.infer<typeof sealedPrivateSchema>;

/** One key as stored. */
export type StoredKey = z.infer<typeof storedKeySchema>;

/** One key with its private JWK in the clear (in memory only). */
export interface KeyEntry {
  key: StoredKey;
  privateJwk: Record<string, unknown>;
}

/** A document's content, unsealed. */
export interface KeyRingContent {
  /** The document's scrypt salt (base64url), if it has one; kept across writes. */
  salt?: string | undefined;
  entries: KeyEntry[];
  archive: ArchivedKey[];
  /** Set by `parse` when some private JWK was stored in the clear. */
  inClear?: boolean;
}

/** Raised when keys cannot be unsealed (wrong or missing master key, tampered document). */
export class KeyDecryptError extends GatewayError {
  constructor(message: string) {
    super('KEY_DECRYPT_FAILED', message, 500);
  }
}

/** Parses and writes key-ring documents; knows nothing about algorithms or where they live. */
export class KeyCodec {
  readonly #masterKey: string | undefined;
  /** The key-encryption key of the last salt used (scrypt is slow on purpose). */
  #kek: { salt: string; key: Buffer } | undefined;

  constructor(masterKey: string | undefined) {
    this.#masterKey = masterKey;
  }

  /**
   * Reads `text`, unsealing every private JWK. `what` names the document in errors ("key file
   * …", "the key ring in the store"); messages name where a problem is, never a value.
   */
  parse(text: string, what: string): KeyRingContent {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeyDecryptError(`${what} is not valid JSON`);
    }
    const parsed = documentSchema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.join('.') ?? '';
      throw new KeyDecryptError(
        `${what} has an unknown format${where === '' ? '' : ` (at ${where})`}`,
      );
    }
    const doc = parsed.data;
    return {
      ...(doc.salt === undefined ? {} : { salt: doc.salt }),
      entries: doc.keys.map((key) => ({ key, privateJwk: this.#unseal(key, doc.salt, what) })),
      archive: doc.archive ?? [],
      inClear: doc.keys.some((k) => k.private.enc === 'none'),
    };
  }

  /** The document of `content`, private JWKs sealed when a master key is set. */
  serialize(content: KeyRingContent): string {
    const salt =
      content.salt ??
      (this.#masterKey === undefined ? undefined : randomBytes(16).toString('base64url'));
    const keys = content.entries.map(({ key, privateJwk }) => ({
      ...key,
      private: this.#seal(key.kid, privateJwk, salt),
    }));
    return JSON.stringify({
      version: 1,
      ...(salt === undefined ? {} : { salt }),
      keys,
      ...(content.archive.length === 0 ? {} : { archive: content.archive }),
    });
  }

  #keyEncryptionKey(salt: string | undefined): Buffer {
    if (this.#masterKey === undefined) throw new KeyDecryptError('no master key');
    if (salt === undefined) throw new KeyDecryptError('sealed keys without a salt');
    if (this.#kek?.salt !== salt) {
      const key = scryptSync(this.#masterKey, Buffer.from(salt, 'base64url'), 32, {
        N: 1 << 15,
        r: 8,
        p: 1,
        maxmem: 64 * 1024 * 1024,
      });
      this.#kek = { salt, key };
    }
    return this.#kek.key;
  }

  #seal(kid: string, jwk: Record<string, unknown>, salt: string | undefined): SealedPrivate {
    if (this.#masterKey === undefined) return { enc: 'none', jwk };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keyEncryptionKey(salt), iv);
    cipher.setAAD(Buffer.from(kid));
    const data = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
    return {
      enc: 'A256GCM',
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      data: data.toString('base64url'),
    };
  }

  #unseal(key: StoredKey, salt: string | undefined, what: string): Record<string, unknown> {
    const p = key.private;
    if (p.enc === 'none') return p.jwk;
    if (this.#masterKey === undefined) {
      throw new KeyDecryptError('signing keys are encrypted: set GATEHOUSE_MASTER_KEY');
    }
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.#keyEncryptionKey(salt),
        Buffer.from(p.iv, 'base64url'),
      );
      decipher.setAAD(Buffer.from(key.kid));
      decipher.setAuthTag(Buffer.from(p.tag, 'base64url'));
      const plain = Buffer.concat([
        decipher.update(Buffer.from(p.data, 'base64url')),
        decipher.final(),
      ]);
      return jwkObject.parse(JSON.parse(plain.toString('utf8')));
    } catch {
      throw new KeyDecryptError(
        `cannot decrypt signing keys: wrong GATEHOUSE_MASTER_KEY or damaged ${what}`,
      );
    }
  }
}
