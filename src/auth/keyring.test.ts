import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, compactVerify, importJWK } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { KeyDecryptError } from './key-document.js';
import { KeyRing, type SigningAlg } from './keyring.js';

const MASTER = 'correct horse battery staple 0123';

/** A data dir with its SQLite store; `connect()` opens another connection, as another process. */
async function setup(alg: SigningAlg = 'ES256', masterKey?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-keys-'));
  const stores: Store[] = [];
  const connect = async () => {
    const s = await openStore({ dataDir: dir });
    stores.push(s);
    return s;
  };
  onTestFinished(async () => {
    await Promise.all(stores.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const store = await connect();
  const clock = { now: 1_800_000_000_000 };
  const openWith = async (mk: string | undefined, on: Store = store) =>
    KeyRing.open({ store: on.keys, masterKey: mk, alg, clock: () => clock.now, retention: 3660 });
  const open = (on?: Store) => openWith(masterKey, on);
  /** The ring's document exactly as stored. */
  const document = async () => (await store.keys.get())?.document ?? '';
  return { dir, store, connect, clock, open, openWith, document };
}

describe('KeyRing', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'creates one %s key on first start, kid = RFC 7638 thumbprint',
    async (alg) => {
      const { open } = await setup(alg);
      const ring = await open();
      const jwks = ring.jwks();
      expect(jwks.keys).toHaveLength(1);
      const [jwk] = jwks.keys;
      expect(jwk?.alg).toBe(alg);
      expect(jwk?.kid).toBe(ring.signingKey().kid);
      expect(jwk?.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Only public members are published.
      expect(Object.keys(jwk ?? {}).sort()).not.toContain('d');
      if (alg === 'RS256')
        expect(Buffer.from(String(jwk?.n), 'base64url').length).toBeGreaterThanOrEqual(256);
    },
  );

  it('keeps the ring in the store as one row, at revision 1 after the first start', async () => {
    const { store, open, document } = await setup();
    const ring = await open();
    expect(ring.revision).toBe(1);
    expect(await store.keys.revision()).toBe(1);
    const doc = JSON.parse(await document()) as { version: number; keys: { kid: string }[] };
    expect(doc.version).toBe(1);
    expect(doc.keys.map((k) => k.kid)).toEqual([ring.signingKey().kid]);
    // A second start loads it and writes nothing.
    const again = await open();
    expect(again.signingKey().kid).toBe(ring.signingKey().kid);
    expect(await store.keys.revision()).toBe(1);
  });

  it('keeps private keys in the clear without a master key, sealed with one', async () => {
    const plain = await setup();
    await plain.open();
    expect(await plain.document()).toContain('"d"');

    const sealed = await setup('ES256', MASTER);
    const ring = await sealed.open();
    const text = await sealed.document();
    expect(text).not.toContain('"d"');
    expect(text).toContain('A256GCM');
    // Reopening with the same master key yields the same signing key.
    const again = await sealed.openWith(MASTER);
    expect(again.signingKey().kid).toBe(ring.signingKey().kid);
  });

  it('refuses to start with a missing or wrong master key', async () => {
    const sealed = await setup('ES256', MASTER);
    await sealed.open();
    await expect(sealed.openWith(undefined)).rejects.toBeInstanceOf(KeyDecryptError);
    await expect(sealed.openWith('a different master key!!')).rejects.toThrow(
      /wrong GATEHOUSE_MASTER_KEY/,
    );
  });

  it('rotation adds a signing key; the old one stays published until its tokens expired', async () => {
    const { clock, open } = await setup();
    const ring = await open();
    const oldKid = ring.signingKey().kid;
    const newKid = await ring.rotate();
    expect(newKid).not.toBe(oldKid);
    expect(ring.signingKey().kid).toBe(newKid);
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    expect(ring.get(oldKid)).toBeDefined();
    clock.now += 3661 * 1000;
    await ring.refresh(0);
    expect(ring.get(oldKid)).toBeUndefined();
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
  });

  it('keeps the public key of every key it ever had for audit verification, never a private part', async () => {
    const { clock, document, open } = await setup();
    const ring = await open();
    const first = ring.signingKey();
    const signed = await new CompactSign(new TextEncoder().encode('checkpoint'))
      .setProtectedHeader({ alg: first.alg, kid: first.kid })
      .sign(first.privateKey);
    const second = await ring.rotate();
    clock.now += 3661 * 1000;
    // Past its retention the first key leaves the ring at the next rotation…
    const third = await ring.rotate();
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([second, third]);
    expect(ring.get(first.kid)).toBeUndefined();
    // …but its public part stays, in the store and in the audit set, across restarts.
    const reopened = await open();
    const audit = reopened.auditJwks().keys;
    expect(audit.map((k) => k.kid).sort()).toEqual([first.kid, second, third].sort());
    for (const k of audit) expect(k).not.toHaveProperty('d');
    const old = audit.find((k) => k.kid === first.kid);
    if (old === undefined) throw new Error('archived key missing');
    await expect(compactVerify(signed, await importJWK(old, first.alg))).resolves.toBeDefined();
    const stored = JSON.parse(await document()) as { archive: unknown[] };
    expect(JSON.stringify(stored.archive)).not.toMatch(/"d"/);
    expect(stored.archive).toHaveLength(1);
    // Further rotations keep the archive and do not duplicate it.
    clock.now += 3661 * 1000;
    await reopened.rotate();
    expect(reopened.auditJwks().keys).toHaveLength(4);
  });

  it('publishes a rotated-in key before it signs when given an activation delay', async () => {
    const { clock, open } = await setup();
    const ring = await open();
    const oldKid = ring.signingKey().kid;
    const newKid = await ring.rotate('ES256', 120);
    // Published at once, so verifiers that cache the JWKS learn it first …
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    expect(ring.get(newKid)).toBeDefined();
    // … but the old key keeps signing until the activation time.
    expect(ring.signingKey().kid).toBe(oldKid);
    clock.now += 119 * 1000;
    expect(ring.signingKey().kid).toBe(oldKid);
    clock.now += 1000;
    expect(ring.signingKey().kid).toBe(newKid);
    expect(ring.list().map((k) => k.active)).toEqual([false, true]);
    // The old key retired at the switch and stays published for the retention after it.
    clock.now += 3659 * 1000;
    expect(ring.get(oldKid)).toBeDefined();
    clock.now += 1000;
    expect(ring.get(oldKid)).toBeUndefined();
  });

  it('sees a rotation made by another process through the revision in the store', async () => {
    const { connect, open } = await setup();
    const server = await open();
    const cli = await open(await connect());
    const kid = await cli.rotate();
    expect(cli.revision).toBe(2);
    expect(server.get(kid)).toBeUndefined();
    expect(await server.refresh(0)).toBe(true);
    expect(server.get(kid)).toBeDefined();
    expect(server.signingKey().kid).toBe(kid);
    expect(server.revision).toBe(2);
    // Nothing changed since: the check finds the same revision and reloads nothing.
    expect(await server.refresh(0)).toBe(false);
  });

  it('signs with keys that verify against the published JWK', async () => {
    const { open } = await setup('EdDSA');
    const ring = await open();
    const { SignJWT } = await import('jose');
    const k = ring.signingKey();
    const jwt = await new SignJWT({ a: 1 })
      .setProtectedHeader({ alg: k.alg, kid: k.kid })
      .sign(k.privateKey);
    const { payload } = await compactVerify(jwt, k.publicKey);
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ a: 1 });
  });
});
