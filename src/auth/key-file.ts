/**
 * @module auth/key-file — the signing-key file in the data dir. Private keys are sealed with
 * AES-256-GCM under a key derived (scrypt) from GATEHOUSE_MASTER_KEY when it is set; the file is
 * written atomically with mode 0600 either way.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

const keyFileSchema = z.looseObject({
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

type KeyFileContent = z.infer<typeof keyFileSchema>;

/** Raised when keys cannot be unsealed (wrong or missing master key, tampered file). */
export class KeyDecryptError extends GatewayError {
  constructor(message: string) {
    super('KEY_DECRYPT_FAILED', message, 500);
  }
}

/** Reads and writes the key file; knows nothing about algorithms. */
export class KeyFile {
  readonly path: string;
  readonly #masterKey: string | undefined;
  #salt: Buffer | undefined;
  #kek: Buffer | undefined;
  #archive: ArchivedKey[] = [];

  constructor(path: string, masterKey: string | undefined) {
    this.path = path;
    this.#masterKey = masterKey;
  }

  /** Loads every key with its private JWK unsealed. */
  read(): { key: StoredKey; privateJwk: Record<string, unknown> }[] {
    if (!existsSync(this.path)) return [];
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      throw new KeyDecryptError(`key file ${this.path} is not valid JSON`);
    }
    const parsed = keyFileSchema.safeParse(json);
    if (!parsed.success) {
      // The path of the first problem, never a value: the file holds private keys.
      const where = parsed.error.issues[0]?.path.join('.') ?? '';
      throw new KeyDecryptError(
        `key file ${this.path} has an unknown format${where === '' ? '' : ` (at ${where})`}`,
      );
    }
    const file = parsed.data;
    if (file.salt !== undefined) this.#salt = Buffer.from(file.salt, 'base64url');
    this.#archive = file.archive ?? [];
    return file.keys.map((key) => ({ key, privateJwk: this.#unseal(key) }));
  }

  /** The archived public keys as of the last `read()`. */
  archive(): readonly ArchivedKey[] {
    return this.#archive;
  }

  /**
   * Writes every key, sealing private JWKs when a master key is set, and the archive (by default
   * the one last read, so a write never drops archived keys).
   */
  write(
    keys: { key: StoredKey; privateJwk: Record<string, unknown> }[],
    archive: readonly ArchivedKey[] = this.#archive,
  ): void {
    const sealed = keys.map(({ key, privateJwk }) => ({
      ...key,
      private: this.#seal(key.kid, privateJwk),
    }));
    const file: KeyFileContent = { version: 1, keys: sealed };
    if (archive.length > 0) file.archive = [...archive];
    this.#archive = [...archive];
    if (this.#salt !== undefined) file.salt = this.#salt.toString('base64url');
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }

  #keyEncryptionKey(): Buffer {
    if (this.#masterKey === undefined) throw new KeyDecryptError('no master key');
    this.#salt ??= randomBytes(16);
    this.#kek ??= scryptSync(this.#masterKey, this.#salt, 32, {
      N: 1 << 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    return this.#kek;
  }

  #seal(kid: string, jwk: Record<string, unknown>): SealedPrivate {
    if (this.#masterKey === undefined) return { enc: 'none', jwk };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keyEncryptionKey(), iv);
    cipher.setAAD(Buffer.from(kid));
    const data = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
    return {
      enc: 'A256GCM',
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      data: data.toString('base64url'),
    };
  }

  #unseal(key: StoredKey): Record<string, unknown> {
    const p = key.private;
    if (p.enc === 'none') return p.jwk;
    if (this.#masterKey === undefined) {
      throw new KeyDecryptError('signing keys are encrypted: set GATEHOUSE_MASTER_KEY');
    }
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.#keyEncryptionKey(),
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
        'cannot decrypt signing keys: wrong GATEHOUSE_MASTER_KEY or damaged key file',
      );
    }
  }
}
