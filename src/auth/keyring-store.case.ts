/**
 * @module auth/keyring-store.case — the key ring over a real store, attacked and raced: rows
 * tampered with (sealed private key, public key), a missing or wrong master key, rotations from
 * several processes at once, the one-time import of a key file of an earlier version, and the
 * raw row checked for private material. Run against SQLite and PostgreSQL by their test files.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, compactVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRingStore, Store } from '../store/index.js';
import { KeyDecryptError } from './key-document.js';
import { KeyRing } from './keyring.js';

/** One database (a SQLite file, a PostgreSQL schema) and its data dir, fresh for each test. */
export interface KeyRingTarget {
  /** A new connection to the database, as another process or replica would have. */
  connect(): Promise<Store>;
  readonly dataDir: string;
  /** The stored document, read with SQL of its own (undefined: no row). */
  rawDocument(): Promise<string | undefined>;
  /** Overwrites the document and bumps the revision, as someone with write access could. */
  tamper(document: string): Promise<void>;
  /** Closes every connection and removes the database. */
  close(): Promise<void>;
}

const MASTER = 'correct horse battery staple 0123';
const DAMAGED = new KeyDecryptError(
  'cannot decrypt signing keys: wrong GATEHOUSE_MASTER_KEY or damaged the key ring in the store',
);

interface Doc {
  salt?: string;
  keys: {
    kid: string;
    publicJwk: Record<string, unknown>;
    private: { enc: string; data?: string; jwk?: Record<string, unknown> };
  }[];
}

/** Registers the cases; `fresh` makes a new target for each test. */
export function keyRingStoreCases(name: string, fresh: () => Promise<KeyRingTarget>): void {
  describe(`key ring in the store: ${name}`, () => {
    let t: KeyRingTarget;
    let store: Store;
    const clock = { now: 1_800_000_000_000 };
    afterEach(async () => {
      await t.close();
    });

    async function setup(): Promise<void> {
      t = await fresh();
      store = await t.connect();
    }
    const legacyFile = (): string => join(t.dataDir, 'keys.json');
    const open = (masterKey: string | undefined, on: KeyRingStore = store.keys) =>
      KeyRing.open({
        store: on,
        legacyFile: legacyFile(),
        masterKey,
        alg: 'ES256',
        clock: () => clock.now,
        retention: 3660,
      });
    const doc = async (): Promise<Doc> => JSON.parse((await t.rawDocument()) ?? '{}') as Doc;

    describe('tampering and master keys', () => {
      it('refuses a row whose sealed private key was changed, never replacing it with a new key', async () => {
        await setup();
        const server = await open(MASTER);
        const before = server.signingKey().kid;
        const d = await doc();
        const [key] = d.keys;
        if (key?.private.data === undefined) throw new Error('a sealed key');
        key.private.data = flip(key.private.data);
        const tampered = JSON.stringify(d);
        await t.tamper(tampered);
        const revision = await store.keys.revision();
        // A new process refuses to start, and leaves the row as it found it.
        await expect(open(MASTER)).rejects.toThrow(DAMAGED);
        await expect(open(MASTER).then((r) => r.rotate())).rejects.toThrow(DAMAGED);
        expect(await t.rawDocument()).toBe(tampered);
        expect(await store.keys.revision()).toBe(revision);
        // A running one refuses the new revision and keeps signing with what it had.
        await expect(server.refresh(0)).rejects.toThrow(DAMAGED);
        await expect(server.rotate()).rejects.toThrow(DAMAGED);
        expect(server.signingKey().kid).toBe(before);
        expect(await t.rawDocument()).toBe(tampered);
      });

      it('refuses a row whose public key was swapped for one we never had', async () => {
        await setup();
        await open(MASTER);
        const d = await doc();
        const [key] = d.keys;
        if (key === undefined) throw new Error('a key');
        const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
        key.publicJwk = foreign.export({ format: 'jwk' });
        await t.tamper(JSON.stringify(d));
        await expect(open(MASTER)).rejects.toThrow(
          new KeyDecryptError(`signing key ${key.kid} does not match its public key`),
        );
      });

      it('refuses a missing or wrong master key with a clear error, writing nothing', async () => {
        await setup();
        await open(MASTER);
        const stored = await t.rawDocument();
        await expect(open(undefined)).rejects.toThrow(
          new KeyDecryptError('signing keys are encrypted: set GATEHOUSE_MASTER_KEY'),
        );
        await expect(open('not the master key it was sealed with')).rejects.toThrow(DAMAGED);
        expect(await t.rawDocument()).toBe(stored);
        expect(await store.keys.revision()).toBe(1);
      });

      it('never writes a private key unsealed when a master key is set', async () => {
        await setup();
        const ring = await open(MASTER);
        await ring.rotate('EdDSA');
        await ring.rotate('RS256');
        const raw = (await t.rawDocument()) ?? '';
        const d = JSON.parse(raw) as Doc;
        expect(d.keys).toHaveLength(3);
        expect(d.salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
        for (const k of d.keys) {
          expect(Object.keys(k.private).sort()).toEqual(['data', 'enc', 'iv', 'tag']);
          expect(k.private.enc).toBe('A256GCM');
        }
        // No private JWK member (EC/OKP `d`, RSA `p`, `q`, `dp`, `dq`, `qi`) anywhere in the row.
        expect(raw).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
      });

      it('seals a ring stored in the clear at the first start with a master key', async () => {
        await setup();
        const kid = (await open(undefined)).signingKey().kid;
        expect(await t.rawDocument()).toMatch(/"d":/);
        expect((await open(MASTER)).signingKey().kid).toBe(kid);
        expect(await t.rawDocument()).not.toMatch(/"d":/);
        expect((await doc()).keys[0]?.private.enc).toBe('A256GCM');
        expect(await store.keys.revision()).toBe(2);
        // Sealed for good: without the master key it no longer opens.
        await expect(open(undefined)).rejects.toThrow(/set GATEHOUSE_MASTER_KEY/);
      });
    });

    describe('concurrent rotations', () => {
      it('lets a rotation that lost the compare-and-swap re-read and retry, losing no key', async () => {
        await setup();
        const first = (await open(undefined)).signingKey().kid;
        const other = await open(undefined, (await t.connect()).keys);
        let theirs = '';
        let lost = 0;
        // Another process rotates between this ring's read and its write, exactly once.
        const racing: KeyRingStore = {
          get: () => store.keys.get(),
          revision: () => store.keys.revision(),
          put: async (expected, document, now) => {
            if (theirs === '') theirs = await other.rotate();
            const won = await store.keys.put(expected, document, now);
            if (!won) lost += 1;
            return won;
          },
        };
        const ours = await (await open(undefined, racing)).rotate();
        expect(lost).toBe(1);
        const ring = await open(undefined);
        expect(ring.list().map((k) => k.kid)).toEqual([first, theirs, ours]);
        expect(ring.signingKey().kid).toBe(ours);
        expect(await store.keys.revision()).toBe(3);
      });

      it('keeps every key of many rotations at once from several connections', async () => {
        await setup();
        const first = (await open(undefined)).signingKey().kid;
        const rings = await Promise.all(
          Array.from({ length: 4 }, async () => open(undefined, (await t.connect()).keys)),
        );
        const kids = await Promise.all(rings.flatMap((r) => [r.rotate(), r.rotate('EdDSA', 120)]));
        expect(new Set(kids).size).toBe(8);
        const ring = await open(undefined);
        expect(
          ring
            .list()
            .map((k) => k.kid)
            .sort(),
        ).toEqual([first, ...kids].sort());
        expect(await store.keys.revision()).toBe(1 + 8);
        // Every ring sees the same final set on its next check.
        for (const r of rings) {
          await r.refresh(0);
          expect(r.jwks()).toEqual(ring.jwks());
        }
      });
    });

    describe('a key file of an earlier version', () => {
      /** A keys.json as earlier versions wrote it, and a JWS signed with its key. */
      async function legacy(masterKey: string | undefined) {
        const elsewhere = await t.connect();
        const scratch = await fresh();
        try {
          const other = await open(masterKey, (await scratch.connect()).keys);
          const text = JSON.stringify(JSON.parse((await scratch.rawDocument()) ?? ''), null, 2);
          writeFileSync(legacyFile(), text, { mode: 0o600 });
          const key = other.signingKey();
          const jws = await new CompactSign(new TextEncoder().encode('signed before the upgrade'))
            .setProtectedHeader({ alg: key.alg, kid: key.kid })
            .sign(key.privateKey);
          return { kid: key.kid, jws, text, elsewhere };
        } finally {
          await scratch.close();
        }
      }

      it('is imported once, by one of several processes starting at once, then renamed', async () => {
        await setup();
        const old = await legacy(undefined);
        const [one, two] = await Promise.all([
          open(undefined),
          open(undefined, old.elsewhere.keys),
        ]);
        const rings = [one, two];
        for (const r of rings) expect(r.list().map((k) => k.kid)).toEqual([old.kid]);
        expect(await store.keys.revision()).toBe(1);
        // Tokens and checkpoints signed before the upgrade still verify.
        const pub = one.get(old.kid)?.publicKey;
        if (pub === undefined) throw new Error('imported key');
        await expect(compactVerify(old.jws, pub)).resolves.toBeDefined();
        expect(existsSync(legacyFile())).toBe(false);
        expect(readFileSync(`${legacyFile()}.imported`, 'utf8')).toBe(old.text);
        // From then on the store is the home: a key file that shows up again is not imported.
        const rotated = await one.rotate();
        writeFileSync(legacyFile(), old.text);
        const later = await open(undefined);
        expect(later.list().map((k) => k.kid)).toEqual([old.kid, rotated]);
        expect(await store.keys.revision()).toBe(2);
        expect(readFileSync(legacyFile(), 'utf8')).toBe(old.text);
      });

      it('is sealed on import when a master key is set, though the file held it in the clear', async () => {
        await setup();
        const old = await legacy(undefined);
        expect(old.text).toContain('"d"');
        const ring = await open(MASTER);
        expect(ring.signingKey().kid).toBe(old.kid);
        const raw = (await t.rawDocument()) ?? '';
        expect(raw).not.toMatch(/"d":/);
        expect((JSON.parse(raw) as Doc).keys[0]?.private.enc).toBe('A256GCM');
      });

      it('is not imported with a wrong master key: nothing written, the file left in place', async () => {
        await setup();
        const old = await legacy(MASTER);
        await expect(open('not the master key it was sealed with')).rejects.toThrow(
          new KeyDecryptError(
            `cannot decrypt signing keys: wrong GATEHOUSE_MASTER_KEY or damaged key file ${legacyFile()}`,
          ),
        );
        expect(await t.rawDocument()).toBeUndefined();
        expect(readFileSync(legacyFile(), 'utf8')).toBe(old.text);
        // With the right one it is imported as it was.
        expect((await open(MASTER)).signingKey().kid).toBe(old.kid);
      });
    });
  });
}

/** `b64u` with its first byte changed. */
function flip(b64u: string): string {
  const bytes = Buffer.from(b64u, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}
