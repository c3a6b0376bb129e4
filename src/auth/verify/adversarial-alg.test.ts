/**
 * Adversarial tokens against the Verifier, part 1 of 5: the `alg` and the signature bytes —
 * alg none in every casing, ECDSA psychic signatures, HMAC with our public key as the secret
 * (ES256 and RS256 keys), and relabelling across signature families.
 */
import { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parts, useAdversarySuite } from '../../../test/support/adversary.js';
import { b64u, forge, hmacForge, RawJson, withSignature } from '../../../test/support/jws.js';
import {
  createVerifierFixture,
  type VerifierFixture,
} from '../../../test/support/verifier-fixture.js';

const { fx, refused, ownHeader, ringForge } = useAdversarySuite();

describe('alg none', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    it(`refuses alg "${alg}" with an empty signature as malformed`, async () => {
      await refused(withSignature(ownHeader({ alg }), fx.claims(), ''), 'malformed');
    });

    it(`refuses alg "${alg}" carrying a real signature`, async () => {
      const claims = fx.claims();
      const realSig = parts(ringForge(ownHeader(), claims))[2];
      await refused(withSignature(ownHeader({ alg }), claims, realSig), 'alg_not_allowed');
    });
  }

  it('refuses a duplicated alg member whose last value is none', async () => {
    const { kid } = fx.ring.signingKey();
    const header = new RawJson(`{"alg":"ES256","kid":"${kid}","typ":"at+jwt","alg":"none"}`);
    await refused(ringForge(header, fx.claims()), 'alg_not_allowed');
  });
});

describe('ECDSA psychic signatures (CVE-2022-21449)', () => {
  it('refuses r = s = 0 in raw 64-byte form', async () => {
    await refused(withSignature(ownHeader(), fx.claims(), Buffer.alloc(64)), 'bad_signature');
  });

  it('refuses r = s = 0 in DER form', async () => {
    await refused(
      withSignature(ownHeader(), fx.claims(), Buffer.from('3006020100020100', 'hex')),
      'bad_signature',
    );
  });

  it('refuses r = s = n (the P-256 group order)', async () => {
    const n = Buffer.from(
      'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
      'hex',
    );
    await refused(withSignature(ownHeader(), fx.claims(), Buffer.concat([n, n])), 'bad_signature');
  });
});

describe('algorithm confusion: our public key as an HMAC secret', () => {
  function encodings(pub: KeyObject): [string, Buffer][] {
    const jwk = pub.export({ format: 'jwk' });
    const published = fx.ring.jwks().keys[0];
    return [
      ['PEM SPKI', Buffer.from(pub.export({ type: 'spki', format: 'pem' }))],
      ['DER SPKI', pub.export({ type: 'spki', format: 'der' })],
      ['JWK JSON (as published)', Buffer.from(JSON.stringify(published))],
      ['JWK JSON (bare)', Buffer.from(JSON.stringify(jwk))],
      [
        'raw x||y',
        Buffer.concat([
          Buffer.from(jwk.x ?? '', 'base64url'),
          Buffer.from(jwk.y ?? '', 'base64url'),
        ]),
      ],
      [
        'raw 04||x||y',
        Buffer.concat([
          Buffer.of(4),
          Buffer.from(jwk.x ?? '', 'base64url'),
          Buffer.from(jwk.y ?? '', 'base64url'),
        ]),
      ],
    ];
  }

  for (const alg of ['HS256', 'HS384', 'HS512']) {
    for (const name of [
      'PEM SPKI',
      'DER SPKI',
      'JWK JSON (as published)',
      'JWK JSON (bare)',
      'raw x||y',
      'raw 04||x||y',
    ]) {
      it(`refuses ${alg} signed with the ES256 public key as ${name}`, async () => {
        const pub = KeyObject.from(fx.ring.signingKey().publicKey);
        const secret = encodings(pub).find(([n]) => n === name)?.[1];
        expect(secret?.length).toBeGreaterThan(0);
        await refused(hmacForge(ownHeader({ alg }), fx.claims(), alg, secret!), 'alg_not_allowed');
      });
    }
  }

  it('still refuses HS256 at the signature step if an operator wrongly allowed HS256', async () => {
    // Defence in depth: jose will not use an ECDSA public key as an HMAC secret.
    const loose = fx.makeVerifier({
      issuers: [{ ...fx.trusted, algorithms: new Set(['ES256', 'HS256']) }],
    });
    const pub = KeyObject.from(fx.ring.signingKey().publicKey);
    for (const [, secret] of encodings(pub)) {
      await refused(
        hmacForge(ownHeader({ alg: 'HS256' }), fx.claims(), 'HS256', secret),
        'bad_signature',
        loose,
      );
    }
  });
});

describe('other signing algorithms', () => {
  it('EdDSA: verifies its own tokens and refuses an ES256-labelled one', async () => {
    const ed = await createVerifierFixture({ alg: 'EdDSA' });
    try {
      const { token } = await ed.mint();
      await expect(ed.verifier.verify(token)).resolves.toMatchObject({ own: true });
      const { kid } = ed.ring.signingKey();
      await refused(
        withSignature({ alg: 'ES256', kid, typ: 'at+jwt' }, ed.claims(), Buffer.alloc(64)),
        'alg_not_allowed',
        ed.verifier,
      );
    } finally {
      await ed.close();
    }
  });

  describe('RS256 → HS256 confusion', () => {
    let rs: VerifierFixture;
    let secrets: [string, Buffer][];
    beforeAll(async () => {
      rs = await createVerifierFixture({ alg: 'RS256' });
      const pub = KeyObject.from(rs.ring.signingKey().publicKey);
      secrets = [
        ['PEM SPKI', Buffer.from(pub.export({ type: 'spki', format: 'pem' }))],
        ['PEM PKCS#1', Buffer.from(pub.export({ type: 'pkcs1', format: 'pem' }))],
        ['DER SPKI', pub.export({ type: 'spki', format: 'der' })],
        ['JWK JSON', Buffer.from(JSON.stringify(rs.ring.jwks().keys[0]))],
      ];
    });
    afterAll(async () => {
      await rs.close();
    });

    it('verifies a genuine RS256 token (control)', async () => {
      await expect(rs.verifier.verify((await rs.mint()).token)).resolves.toMatchObject({
        own: true,
      });
    });

    for (const alg of ['HS256', 'HS384', 'HS512']) {
      for (const name of ['PEM SPKI', 'PEM PKCS#1', 'DER SPKI', 'JWK JSON']) {
        it(`refuses ${alg} signed with the RS256 public key as ${name}`, async () => {
          const secret = secrets.find(([n]) => n === name)?.[1];
          expect(secret?.length).toBeGreaterThan(0);
          const { kid } = rs.ring.signingKey();
          const token = hmacForge({ alg, kid, typ: 'at+jwt' }, rs.claims(), alg, secret!);
          await refused(token, 'alg_not_allowed', rs.verifier);
        });
      }
    }

    it('refuses PS256 relabelling of an RS256 key', async () => {
      const { kid, privateKey } = rs.ring.signingKey();
      const token = forge({ alg: 'RS256', kid, typ: 'at+jwt' }, rs.claims(), 'RS256', privateKey);
      const [, p, s] = parts(token);
      await refused(
        `${b64u(JSON.stringify({ alg: 'PS256', kid, typ: 'at+jwt' }))}.${p}.${s}`,
        'alg_not_allowed',
        rs.verifier,
      );
    });
  });
});
