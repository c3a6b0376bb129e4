import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { KeyDecryptError } from './key-file.js';
import { KeyRing, type SigningAlg } from './keyring.js';

const MASTER = 'correct horse battery staple 0123';

function setup(alg: SigningAlg = 'ES256', masterKey?: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-keys-')), 'keys.json');
  const clock = { now: 1_800_000_000_000 };
  const openWith = (mk: string | undefined) =>
    KeyRing.open({ file, masterKey: mk, alg, clock: () => clock.now, retention: 3660 });
  const open = () => openWith(masterKey);
  return { file, clock, open, openWith };
}

describe('KeyRing', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'creates one %s key on first start, kid = RFC 7638 thumbprint',
    async (alg) => {
      const { open } = setup(alg);
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

  it('writes the key file with mode 0600', async () => {
    const { file, open } = setup();
    await open();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps private keys in the clear without a master key, sealed with one', async () => {
    const plain = setup();
    await plain.open();
    expect(readFileSync(plain.file, 'utf8')).toContain('"d"');

    const sealed = setup('ES256', MASTER);
    const ring = await sealed.open();
    const text = readFileSync(sealed.file, 'utf8');
    expect(text).not.toContain('"d"');
    expect(text).toContain('A256GCM');
    // Reopening with the same master key yields the same signing key.
    const again = await sealed.openWith(MASTER);
    expect(again.signingKey().kid).toBe(ring.signingKey().kid);
  });

  it('refuses to start with a missing or wrong master key', async () => {
    const sealed = setup('ES256', MASTER);
    await sealed.open();
    await expect(sealed.openWith(undefined)).rejects.toBeInstanceOf(KeyDecryptError);
    await expect(sealed.openWith('a different master key!!')).rejects.toThrow(
      /wrong GATEHOUSE_MASTER_KEY/,
    );
  });

  it('rotation adds a signing key; the old one stays published until its tokens expired', async () => {
    const { clock, open } = setup();
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
    const { clock, file, open } = setup();
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
    // …but its public part stays, in the file and in the audit set, across restarts.
    const reopened = await open();
    const audit = reopened.auditJwks().keys;
    expect(audit.map((k) => k.kid).sort()).toEqual([first.kid, second, third].sort());
    for (const k of audit) expect(k).not.toHaveProperty('d');
    const old = audit.find((k) => k.kid === first.kid);
    if (old === undefined) throw new Error('archived key missing');
    await expect(compactVerify(signed, await importJWK(old, first.alg))).resolves.toBeDefined();
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { archive: unknown[] };
    expect(JSON.stringify(stored.archive)).not.toMatch(/"d"/);
    expect(stored.archive).toHaveLength(1);
    // Further rotations keep the archive and do not duplicate it.
    clock.now += 3661 * 1000;
    await reopened.rotate();
    expect(reopened.auditJwks().keys).toHaveLength(4);
  });

  it('publishes a rotated-in key before it signs when given an activation delay', async () => {
    const { clock, open } = setup();
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

  it('sees a rotation made by another process through the file', async () => {
    const { open } = setup();
    const server = await open();
    const cli = await open();
    const kid = await cli.rotate();
    expect(server.get(kid)).toBeUndefined();
    expect(await server.refresh(0)).toBe(true);
    expect(server.get(kid)).toBeDefined();
    expect(server.signingKey().kid).toBe(kid);
  });

  it('signs with keys that verify against the published JWK', async () => {
    const { open } = setup('EdDSA');
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
