/**
 * Adversarial tokens against the Verifier, part 5 of 5: what changes after issue — revoked
 * `jti`s (cached or not), keys we never had, and keys rotated out past their retention, whether
 * or not anything refreshed the ring since.
 */
import { calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { attackerEc, parts, useAdversarySuite } from '../../../test/support/adversary.js';
import { forge } from '../../../test/support/jws.js';
import {
  createVerifierFixture,
  MAX_LIFETIME,
  SKEW,
  type VerifierFixture,
} from '../../../test/support/verifier-fixture.js';

const { fx, refused, ownHeader } = useAdversarySuite();

describe('revocation', () => {
  it('refuses a revoked jti', async () => {
    const { token, jti, exp } = await fx.mint();
    await fx.revocations.add(jti, exp);
    await refused(token, 'revoked');
  });

  it('refuses a revoked jti that is already in the verify cache', async () => {
    const { token, jti, exp } = await fx.mint();
    await expect(fx.verifier.verify(token)).resolves.toMatchObject({ jti });
    await expect(fx.verifier.verify(token)).resolves.toMatchObject({ jti }); // served from the cache
    await fx.revocations.add(jti, exp);
    await refused(token, 'revoked');
  });

  it('does not let revoking one token affect another', async () => {
    const a = await fx.mint();
    const b = await fx.mint();
    await fx.revocations.add(a.jti, a.exp);
    await expect(fx.verifier.verify(b.token)).resolves.toMatchObject({ jti: b.jti });
  });
});

describe('keys we never had', () => {
  it('refuses a foreign key that names our kid', async () => {
    const attacker = attackerEc();
    await refused(forge(ownHeader(), fx.claims(), 'ES256', attacker.privateKey), 'bad_signature');
  });

  it('refuses a token signed by an unknown key with a fresh kid', async () => {
    const attacker = attackerEc();
    const kid = await calculateJwkThumbprint(attacker.jwk);
    await refused(
      forge(ownHeader({ kid }), fx.claims(), 'ES256', attacker.privateKey),
      'unknown_key',
    );
  });
});

describe('key rotation', () => {
  let rx: VerifierFixture;
  beforeAll(async () => {
    rx = await createVerifierFixture();
  });
  afterAll(async () => {
    await rx.close();
  });

  it('keeps verifying tokens signed by the previous key, and later ones by the new key', async () => {
    const old = await rx.mint();
    const oldKid = rx.ring.signingKey().kid;
    const newKid = await rx.ring.rotate();
    expect(newKid).not.toBe(oldKid);
    await expect(rx.verifier.verify(old.token)).resolves.toMatchObject({ jti: old.jti });
    const fresh = await rx.mint();
    expect(JSON.parse(Buffer.from(parts(fresh.token)[0], 'base64url').toString())).toMatchObject({
      kid: newKid,
    });
    await expect(rx.verifier.verify(fresh.token)).resolves.toMatchObject({ jti: fresh.jti });
  });

  it('picks up a rotation made by another process on an unknown kid', async () => {
    const { KeyRing } = await import('../keyring.js');
    const { openStore } = await import('../../store/index.js');
    // As the CLI does: its own connection to the store of the data dir.
    const other = await openStore({ dataDir: rx.dir });
    onTestFinished(() => other.close());
    const cli = await KeyRing.open({
      store: other.keys,
      masterKey: undefined,
      alg: 'ES256',
      clock: rx.time.clock,
      retention: MAX_LIFETIME + SKEW,
    });
    rx.time.advance(2); // past the ring's refresh interval
    const kid = await cli.rotate();
    const key = cli.get(kid)!;
    const token = forge({ alg: 'ES256', kid, typ: 'at+jwt' }, rx.claims(), 'ES256', key.privateKey);
    await expect(rx.verifier.verify(token)).resolves.toMatchObject({ own: true });
  });

  it('refuses a key past retention once the ring has refreshed', async () => {
    const retired = rx.ring.signingKey();
    await rx.ring.rotate();
    rx.time.advance(MAX_LIFETIME + SKEW + 2);
    await rx.mint(); // issuing refreshes the ring, which drops keys past retention
    const token = forge(
      { alg: 'ES256', kid: retired.kid, typ: 'at+jwt' },
      rx.claims(),
      'ES256',
      retired.privateKey,
    );
    await refused(token, 'unknown_key', rx.verifier);
  });

  // A verify-only replica may never call refresh() for a kid it still holds: get() itself must
  // stop handing out a retired key once its retention has run out.
  it('refuses a key past retention even when nothing refreshed the ring', async () => {
    const retired = rx.ring.signingKey();
    await rx.ring.rotate();
    rx.time.advance(MAX_LIFETIME + SKEW + 2);
    const token = forge(
      { alg: 'ES256', kid: retired.kid, typ: 'at+jwt' },
      rx.claims(),
      'ES256',
      retired.privateKey,
    );
    await refused(token, 'unknown_key', rx.verifier);
  });
});
