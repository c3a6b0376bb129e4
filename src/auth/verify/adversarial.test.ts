/**
 * Adversarial tokens against the Verifier as the server wires it (test/support/verifier-fixture):
 * every case is one malicious token and the exact reason it must be refused with. Control cases
 * show that the same construction with nothing wrong verifies, so each refusal is caused by the
 * one thing the case changes.
 */
import { createHmac, generateKeyPairSync, KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, CompactEncrypt, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createVerifierFixture,
  MAX_LIFETIME,
  MAX_TOKEN_BYTES,
  OWN_ISSUER,
  SKEW,
  type VerifierFixture,
} from '../../../test/support/verifier-fixture.js';
import { b64u, forge, malleate, RawJson, withSignature } from '../../../test/support/jws.js';
import { TokenError, type TokenRejection } from './errors.js';
import type { Verifier } from './verifier.js';

let fx: VerifierFixture;
let start: number;

beforeAll(async () => {
  fx = await createVerifierFixture();
  start = fx.time.now();
});
afterAll(async () => {
  await fx.close();
});
afterEach(() => {
  fx.time.set(start);
});

/** Asserts that `token` is refused with exactly `reason` (and nothing but a TokenError). */
async function refused(
  token: string,
  reason: TokenRejection,
  v: Verifier = fx.verifier,
): Promise<void> {
  const outcome = await v.verify(token).then(
    () => 'accepted',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(TokenError);
  expect(outcome).toMatchObject({ reason });
}

/** Our valid protected header, with `overrides` replacing members. */
function ownHeader(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const k = fx.ring.signingKey();
  return { alg: k.alg, kid: k.kid, typ: 'at+jwt', ...overrides };
}

/** Hand-built token signed with our real private key. */
function ringForge(
  header: Record<string, unknown> | RawJson,
  payload: Record<string, unknown> | RawJson,
): string {
  return forge(header, payload, fx.ring.signingKey().alg, fx.ring.signingKey().privateKey);
}

const parts = (t: string): [string, string, string] => t.split('.') as [string, string, string];

function attackerEc(): { privateKey: KeyObject; publicKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, jwk: publicKey.export({ format: 'jwk' }) };
}

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
  const hmac = (
    alg: string,
    secret: Buffer,
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
  ) => {
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    const sig = createHmac(`sha${alg.slice(2)}`, secret)
      .update(input)
      .digest();
    return `${input}.${b64u(sig)}`;
  };

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
        await refused(hmac(alg, secret!, ownHeader({ alg }), fx.claims()), 'alg_not_allowed');
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
        hmac('HS256', secret, ownHeader({ alg: 'HS256' }), fx.claims()),
        'bad_signature',
        loose,
      );
    }
  });
});

describe('key-carrying and processing-changing headers', () => {
  let server: Server;
  let hits = 0;
  let base = '';
  const attacker = attackerEc();

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ keys: [{ ...attacker.jwk, kid: 'evil', alg: 'ES256', use: 'sig' }] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  const evil = (extra: Record<string, unknown>) =>
    forge(
      { alg: 'ES256', kid: 'evil', typ: 'at+jwt', ...extra },
      fx.claims(),
      'ES256',
      attacker.privateKey,
    );

  it('the attacker key server is reachable (so zero hits below means it was not asked)', async () => {
    const res = await fetch(`${base}/jwks.json`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(hits).toBe(1);
    hits = 0;
  });

  it('refuses an embedded jwk header carrying the attacker key', async () => {
    const token = evil({ jwk: attacker.jwk, kid: await calculateJwkThumbprint(attacker.jwk) });
    await refused(token, 'forbidden_header');
  });

  it('refuses jku pointing at an attacker JWKS and never fetches it', async () => {
    await refused(evil({ jku: `${base}/jwks.json` }), 'forbidden_header');
    expect(hits).toBe(0);
  });

  it('refuses x5u pointing at an attacker certificate and never fetches it', async () => {
    await refused(evil({ x5u: `${base}/cert.pem` }), 'forbidden_header');
    expect(hits).toBe(0);
  });

  it('refuses an x5c chain', async () => {
    // Not a real certificate: the gate must refuse the member by name, before parsing it.
    const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await refused(evil({ x5c: [der] }), 'forbidden_header');
  });

  it('refuses jku even on a token signed with our real key', async () => {
    await refused(
      ringForge(ownHeader({ jku: `${base}/jwks.json` }), fx.claims()),
      'forbidden_header',
    );
    expect(hits).toBe(0);
  });

  it('refuses crit naming an extension', async () => {
    await refused(ringForge(ownHeader({ crit: ['exp'], exp: 1 }), fx.claims()), 'forbidden_header');
  });

  it('refuses b64:false (unencoded payload, RFC 7797)', async () => {
    await refused(
      ringForge(ownHeader({ b64: false, crit: ['b64'] }), fx.claims()),
      'forbidden_header',
    );
  });

  it('refuses a JWE (five segments)', async () => {
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(fx.claims())))
      .setProtectedHeader({
        alg: 'dir',
        enc: 'A256GCM',
        kid: fx.ring.signingKey().kid,
        typ: 'at+jwt',
      })
      .encrypt(new Uint8Array(32));
    expect(jwe.split('.')).toHaveLength(5);
    await refused(jwe, 'malformed');
  });
});

describe('kid injection (real key, real claims, only the kid is hostile)', () => {
  const unknown = [
    '../../etc/passwd',
    "'OR'1'='1'--",
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ];
  for (const kid of unknown) {
    it(`treats kid ${JSON.stringify(kid)} as an unknown key`, async () => {
      await refused(ringForge(ownHeader({ kid }), fx.claims()), 'unknown_key');
    });
  }

  const malformedKids: [string, unknown][] = [
    ['SQL with spaces', "' OR 1=1 --"],
    ['an object', { $ne: null }],
    ['an array', ['k1']],
    ['a number', 1],
    ['null', null],
    ['empty', ''],
    ['129 characters', 'k'.repeat(129)],
    ['with a newline', 'abc\n'],
  ];
  for (const [name, kid] of malformedKids) {
    it(`refuses a kid that is ${name}`, async () => {
      await refused(ringForge(ownHeader({ kid }), fx.claims()), 'bad_kid');
    });
  }

  it('refuses a missing kid', async () => {
    const { kid: _kid, ...header } = ownHeader();
    await refused(ringForge(header, fx.claims()), 'bad_kid');
  });

  it('refuses a 10 KB kid by size before anything else', async () => {
    await refused(ringForge(ownHeader({ kid: 'k'.repeat(10 * 1024) }), fx.claims()), 'too_large');
  });

  it('refuses a 10 KB kid by its length when the size limit is raised', async () => {
    const roomy = fx.makeVerifier({ maxTokenBytes: 64 * 1024 });
    await refused(
      ringForge(ownHeader({ kid: 'k'.repeat(10 * 1024) }), fx.claims()),
      'bad_kid',
      roomy,
    );
  });

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

describe('typ', () => {
  it('refuses an ID-token typ "JWT"', async () => {
    await refused(ringForge(ownHeader({ typ: 'JWT' }), fx.claims()), 'bad_typ');
  });

  it('refuses a DPoP proof typ "dpop+jwt"', async () => {
    await refused(ringForge(ownHeader({ typ: 'dpop+jwt' }), fx.claims()), 'bad_typ');
  });

  it('refuses a missing typ', async () => {
    const { typ: _typ, ...header } = ownHeader();
    await refused(ringForge(header, fx.claims()), 'bad_typ');
  });

  it('refuses a non-string typ', async () => {
    await refused(ringForge(ownHeader({ typ: ['at+jwt'] }), fx.claims()), 'bad_typ');
  });
});

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
    const cli = await KeyRing.open({
      file: `${rx.dir}/keys.json`,
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
          const input = `${b64u(JSON.stringify({ alg, kid, typ: 'at+jwt' }))}.${b64u(JSON.stringify(rs.claims()))}`;
          const sig = createHmac(`sha${alg.slice(2)}`, secret!)
            .update(input)
            .digest();
          await refused(`${input}.${b64u(sig)}`, 'alg_not_allowed', rs.verifier);
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
