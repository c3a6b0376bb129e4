/**
 * Adversarial tokens against the Verifier, part 4 of 5: the claims of a token signed with our
 * real key — expiry, not-before and issued-at against the skew, the lifetime cap, and an exact
 * `iss` and `aud` (RFC 9068 §4), each one wrong while everything else is right.
 */
import { describe, expect, it } from 'vitest';
import { useAdversarySuite } from '../../../test/support/adversary.js';
import { MAX_LIFETIME, OWN_ISSUER, SKEW } from '../../../test/support/verifier-fixture.js';

const { fx, refused } = useAdversarySuite();

describe('time claims', () => {
  it('refuses an expired token', async () => {
    const now = fx.time.now();
    await refused(await fx.sign(fx.claims({ iat: now - 600, exp: now - 1 })), 'expired');
  });

  it('refuses a token at the exact second it expires', async () => {
    const now = fx.time.now();
    await refused(await fx.sign(fx.claims({ iat: now - 600, exp: now })), 'expired');
  });

  it('refuses a cached token once the clock passes exp', async () => {
    const { token } = await fx.mint(120);
    await expect(fx.verifier.verify(token)).resolves.toBeDefined();
    fx.time.advance(120);
    await refused(token, 'expired');
  });

  it('refuses nbf beyond the skew', async () => {
    await refused(await fx.sign(fx.claims({ nbf: fx.time.now() + SKEW + 1 })), 'not_yet_valid');
  });

  it('accepts nbf within the skew', async () => {
    await expect(
      fx.verifier.verify(await fx.sign(fx.claims({ nbf: fx.time.now() + SKEW }))),
    ).resolves.toBeDefined();
  });

  it('refuses iat beyond the skew', async () => {
    const now = fx.time.now();
    await refused(
      await fx.sign(fx.claims({ iat: now + SKEW + 1, exp: now + SKEW + 600 })),
      'issued_in_future',
    );
  });

  it('accepts iat within the skew', async () => {
    const now = fx.time.now();
    const token = await fx.sign(fx.claims({ iat: now + SKEW, exp: now + SKEW + 600 }));
    await expect(fx.verifier.verify(token)).resolves.toMatchObject({ issuedAt: now + SKEW });
  });

  it('refuses a missing exp', async () => {
    const { exp: _exp, ...claims } = fx.claims();
    await refused(await fx.sign(claims), 'bad_claims');
  });

  it('refuses exp as a string', async () => {
    await refused(await fx.sign(fx.claims({ exp: String(fx.time.now() + 600) })), 'bad_claims');
  });

  it('refuses a fractional exp', async () => {
    await refused(await fx.sign(fx.claims({ exp: fx.time.now() + 600.5 })), 'bad_claims');
  });

  it('refuses a missing iat (RFC 9068 requires it)', async () => {
    const { iat: _iat, ...claims } = fx.claims();
    await refused(await fx.sign(claims), 'bad_claims');
  });

  it('refuses a lifetime over the maximum', async () => {
    const now = fx.time.now();
    await refused(
      await fx.sign(fx.claims({ iat: now, exp: now + MAX_LIFETIME + 1 })),
      'lifetime_too_long',
    );
  });

  it('refuses a long lifetime hidden by a back-dated iat', async () => {
    const now = fx.time.now();
    await refused(
      await fx.sign(fx.claims({ iat: now - MAX_LIFETIME, exp: now + 600 })),
      'lifetime_too_long',
    );
  });
});

describe('issuer and audience', () => {
  it('refuses a wrong iss', async () => {
    await refused(await fx.sign(fx.claims({ iss: 'http://127.0.0.1:8081' })), 'unknown_issuer');
  });

  it('refuses iss with a trailing slash', async () => {
    await refused(await fx.sign(fx.claims({ iss: `${OWN_ISSUER}/` })), 'unknown_issuer');
  });

  it('refuses iss as an array', async () => {
    await refused(await fx.sign(fx.claims({ iss: [OWN_ISSUER] })), 'unknown_issuer');
  });

  it('refuses a missing iss', async () => {
    const { iss: _iss, ...claims } = fx.claims();
    await refused(await fx.sign(claims), 'unknown_issuer');
  });

  it('refuses iss "__proto__"', async () => {
    await refused(await fx.sign(fx.claims({ iss: '__proto__' })), 'unknown_issuer');
  });

  it('refuses a wrong aud', async () => {
    await refused(await fx.sign(fx.claims({ aud: 'https://other.example' })), 'wrong_audience');
  });

  it('refuses aud as an array even when it holds our audience', async () => {
    await refused(await fx.sign(fx.claims({ aud: [OWN_ISSUER] })), 'wrong_audience');
  });

  it('refuses a missing aud', async () => {
    const { aud: _aud, ...claims } = fx.claims();
    await refused(await fx.sign(claims), 'wrong_audience');
  });

  it('refuses an own token without jti', async () => {
    const { jti: _jti, ...claims } = fx.claims();
    await refused(await fx.sign(claims), 'bad_claims');
  });
});
