/**
 * Adversarial tokens against the Verifier, part 3 of 5: the compact serialisation — controls
 * showing the forging tools make tokens the verifier accepts, then tampered signatures and
 * payloads, wrong segment counts, non-canonical base64url, non-object JSON and the size limit.
 *
 * Every case in parts 1–5 is one malicious token and the exact reason it must be refused with;
 * the controls show that the same construction with nothing wrong verifies, so each refusal is
 * caused by the one thing the case changes.
 */
import { describe, expect, it } from 'vitest';
import { parts, useAdversarySuite } from '../../../test/support/adversary.js';
import { b64u, malleate, RawJson } from '../../../test/support/jws.js';
import { MAX_TOKEN_BYTES } from '../../../test/support/verifier-fixture.js';

const { fx, refused, ownHeader, ringForge } = useAdversarySuite();

describe('controls (the forging tools make tokens the verifier accepts)', () => {
  it('accepts a token minted by the TokenIssuer', async () => {
    const { token, jti } = await fx.mint();
    await expect(fx.verifier.verify(token)).resolves.toMatchObject({
      jti,
      subject: 'user-1',
      own: true,
    });
  });

  it('accepts a hand-built token signed with the ring key', async () => {
    const claims = fx.claims();
    await expect(fx.verifier.verify(ringForge(ownHeader(), claims))).resolves.toMatchObject({
      jti: claims.jti,
    });
  });

  it('accepts a jose-signed token with valid claims', async () => {
    await expect(fx.verifier.verify(await fx.sign(fx.claims()))).resolves.toMatchObject({
      own: true,
    });
  });

  it('accepts the typ compared case-insensitively (RFC 9068 media type)', async () => {
    await expect(
      fx.verifier.verify(ringForge(ownHeader({ typ: 'Application/AT+JWT' }), fx.claims())),
    ).resolves.toBeDefined();
  });
});

describe('signature tampering', () => {
  it('refuses a stripped signature (trailing dot kept)', async () => {
    const [h, p] = parts((await fx.mint()).token);
    await refused(`${h}.${p}.`, 'malformed');
  });

  it('refuses an altered signature byte', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    await refused(`${h}.${p}.${b64u(sig)}`, 'bad_signature');
  });

  it('refuses an altered payload under the original signature', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const escalated = b64u(JSON.stringify({ ...claims, roles: ['admin'], scope: 'keys:admin' }));
    await refused(`${h}.${escalated}.${s}`, 'bad_signature');
  });

  it('refuses a payload re-encoded with the same JSON but different whitespace', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    const same = b64u(` ${Buffer.from(p, 'base64url').toString()}`);
    await refused(`${h}.${same}.${s}`, 'bad_signature');
  });

  it('refuses a signature one byte short', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    await refused(
      `${h}.${p}.${b64u(Buffer.from(s, 'base64url').subarray(0, 63))}`,
      'bad_signature',
    );
  });

  it('refuses a signature one byte long', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    await refused(
      `${h}.${p}.${b64u(Buffer.concat([Buffer.from(s, 'base64url'), Buffer.of(0)]))}`,
      'bad_signature',
    );
  });

  it('refuses a 512-byte signature', async () => {
    const [h, p] = parts((await fx.mint()).token);
    await refused(`${h}.${p}.${b64u(Buffer.alloc(512, 7))}`, 'bad_signature');
  });
});

describe('structure', () => {
  it('refuses two segments', async () => {
    const [h, p] = parts((await fx.mint()).token);
    await refused(`${h}.${p}`, 'malformed');
  });

  it('refuses four segments', async () => {
    const { token } = await fx.mint();
    await refused(`${token}.${parts(token)[2]}`, 'malformed');
  });

  it('refuses an empty header segment', async () => {
    const [, p, s] = parts((await fx.mint()).token);
    await refused(`.${p}.${s}`, 'malformed');
  });

  it('refuses a non-canonical (trailing-bit) signature spelling of a valid signature', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    const twin = malleate(s);
    expect(twin).toBeDefined();
    expect(twin).not.toBe(s);
    expect(Buffer.from(twin!, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    await refused(`${h}.${p}.${twin!}`, 'malformed');
  });

  it('refuses base64 padding', async () => {
    const [h, p, s] = parts((await fx.mint()).token);
    const padded = Buffer.from(s, 'base64url')
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    expect(padded.endsWith('=')).toBe(true);
    await refused(`${h}.${p}.${padded}`, 'malformed');
  });

  it('refuses standard base64 characters (+ and /)', async () => {
    const claims = fx.claims({ sub: '\u00fb\u00ff\u00fe?>' }); // JSON bytes that encode to + and /
    const [h, , s] = parts(ringForge(ownHeader(), claims));
    const std = Buffer.from(JSON.stringify(claims)).toString('base64').replace(/=+$/, '');
    expect(/[+/]/.test(std)).toBe(true);
    await refused(`${h}.${std}.${s}`, 'malformed');
  });

  it('refuses a JSON array header', async () => {
    await refused(ringForge(new RawJson(JSON.stringify([ownHeader()])), fx.claims()), 'bad_header');
  });

  it('refuses a JSON array payload', async () => {
    await refused(ringForge(ownHeader(), new RawJson(JSON.stringify([fx.claims()]))), 'bad_claims');
  });

  it('refuses a header that is not JSON', async () => {
    await refused(ringForge(new RawJson('{"alg":"ES256",'), fx.claims()), 'bad_header');
  });

  it('refuses a null payload', async () => {
    await refused(ringForge(ownHeader(), new RawJson('null')), 'bad_claims');
  });

  it('refuses a header without alg', async () => {
    const { alg: _alg, ...header } = ownHeader();
    await refused(ringForge(header, fx.claims()), 'bad_header');
  });

  it('refuses an alg from a different family (EdDSA) than the issuer signs with', async () => {
    await refused(ringForge(ownHeader({ alg: 'EdDSA' }), fx.claims()), 'alg_not_allowed');
  });

  it('refuses a token over 8 KiB', async () => {
    await refused(await fx.sign(fx.claims({ pad: 'x'.repeat(MAX_TOKEN_BYTES) })), 'too_large');
  });

  it('accepts a token of exactly 8 KiB and refuses one byte more', async () => {
    const base = fx.claims({ pad: '' });
    const baseLen = ringForge(ownHeader(), base).length;
    // Each 3 bytes of payload JSON add 4 characters; find a padding landing exactly on the limit.
    let token = '';
    for (
      let n = Math.floor(((MAX_TOKEN_BYTES - baseLen) * 3) / 4) - 4;
      token.length < MAX_TOKEN_BYTES;
      n++
    ) {
      token = ringForge(ownHeader(), { ...base, pad: 'x'.repeat(n) });
    }
    expect(token.length).toBe(MAX_TOKEN_BYTES);
    await expect(fx.verifier.verify(token)).resolves.toBeDefined();
    await refused(`${token}A`, 'too_large');
  });
});
