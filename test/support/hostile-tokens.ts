/**
 * @module test/support/hostile-tokens — the catalogue of malicious access tokens for a running app
 * (test/support/app-fixture): each entry builds one token that differs from a valid one in one
 * respect, and names the reason the verifier must refuse it with. Builders run inside the test,
 * against the app's current keys and clock; the stateful ones are in hostile-lifecycle.
 */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, CompactEncrypt } from 'jose';
import { expect } from 'vitest';
import { attackerEc, parts } from './adversary.js';
import type { Fixture } from './app-fixture.js';
import {
  issued,
  nowS,
  signed,
  validClaims,
  validHeader,
  type HostileContext,
  type HostileToken,
  type Json,
} from './app-tokens.js';
import { LIFECYCLE_TOKENS } from './hostile-lifecycle.js';
import { b64u, forge, hmacForge, withSignature } from './jws.js';

const withClaims = (overrides: Json) => (c: HostileContext) =>
  signed(c.f, validHeader(c.f), validClaims(c.f, overrides));
const withoutClaim = (name: string) => (c: HostileContext) => {
  const { [name]: _dropped, ...claims } = validClaims(c.f);
  return signed(c.f, validHeader(c.f), claims);
};
const withHeader = (overrides: Json) => (c: HostileContext) =>
  signed(c.f, validHeader(c.f, overrides), validClaims(c.f));
const withoutHeader = (name: string) => (c: HostileContext) => {
  const { [name]: _dropped, ...header } = validHeader(c.f);
  return signed(c.f, header, validClaims(c.f));
};

/** The app's signing public key in the encodings an algorithm-confusion attacker tries. */
function publicKeyAs(f: Fixture, encoding: 'PEM' | 'DER' | 'JWK JSON'): Buffer {
  const k = f.app.auth.keys.signingKey();
  const pub = createPublicKey({ key: k.publicJwk, format: 'jwk' });
  if (encoding === 'PEM') return Buffer.from(pub.export({ type: 'spki', format: 'pem' }));
  if (encoding === 'DER') return pub.export({ type: 'spki', format: 'der' });
  const published = f.app.auth.keys.jwks().keys.find((j) => j.kid === k.kid);
  expect(published).toBeDefined();
  return Buffer.from(JSON.stringify(published));
}

/** Signed by a key the attacker made, under the header members in `extra`. */
const attackerSigned = (extra: Json) => (c: HostileContext) => {
  const a = attackerEc();
  return forge(
    { alg: 'ES256', kid: 'evil', typ: 'at+jwt', ...extra },
    validClaims(c.f),
    'ES256',
    a.privateKey,
  );
};

const NONE_CASINGS = ['none', 'None', 'NONE', 'nOnE'];
const HS_SECRETS = ['PEM', 'DER', 'JWK JSON'] as const;

/** Tokens forged from scratch or from a genuine one: header, signature and claim attacks. */
const FORGED_TOKENS: readonly HostileToken[] = [
  ...NONE_CASINGS.map((alg): HostileToken => ({
    name: `alg "${alg}" with an empty signature`,
    reason: 'malformed',
    build: (c) => withSignature(validHeader(c.f, { alg }), validClaims(c.f), ''),
  })),
  {
    name: 'alg "none" carrying the genuine signature',
    reason: 'alg_not_allowed',
    build: (c) => {
      const claims = validClaims(c.f);
      const sig = parts(signed(c.f, validHeader(c.f), claims))[2];
      return withSignature(validHeader(c.f, { alg: 'none' }), claims, sig);
    },
  },
  {
    name: 'a genuine token with its signature stripped',
    reason: 'malformed',
    build: async (c) => {
      const [h, p] = parts(await issued(c.f));
      return `${h}.${p}.`;
    },
  },
  {
    name: 'a genuine token with one signature bit flipped',
    reason: 'bad_signature',
    build: async (c) => {
      const [h, p, s] = parts(await issued(c.f));
      const sig = Buffer.from(s, 'base64url');
      sig[20] = (sig[20] ?? 0) ^ 0x01;
      return `${h}.${p}.${b64u(sig)}`;
    },
  },
  {
    name: 'a genuine token with its payload escalated to admin',
    reason: 'bad_signature',
    build: async (c) => {
      const [h, p, s] = parts(await issued(c.f));
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Json;
      return `${h}.${b64u(JSON.stringify({ ...claims, roles: ['admin'], scope: 'keys:admin' }))}.${s}`;
    },
  },
  ...['HS256', 'HS384', 'HS512'].flatMap((alg) =>
    HS_SECRETS.map((enc): HostileToken => ({
      name: `${alg} with the public key as the secret (${enc})`,
      reason: 'alg_not_allowed',
      build: (c) =>
        hmacForge(validHeader(c.f, { alg }), validClaims(c.f), alg, publicKeyAs(c.f, enc)),
    })),
  ),
  {
    name: 'ECDSA r = s = 0 (raw)',
    reason: 'bad_signature',
    build: (c) => withSignature(validHeader(c.f), validClaims(c.f), Buffer.alloc(64)),
  },
  {
    name: 'ECDSA r = s = 0 (DER)',
    reason: 'bad_signature',
    build: (c) =>
      withSignature(validHeader(c.f), validClaims(c.f), Buffer.from('3006020100020100', 'hex')),
  },
  {
    name: 'an embedded jwk carrying the attacker key',
    reason: 'forbidden_header',
    build: async (c) => {
      const a = attackerEc();
      const kid = await calculateJwkThumbprint(a.jwk);
      return forge(
        { alg: 'ES256', kid, typ: 'at+jwt', jwk: a.jwk },
        validClaims(c.f),
        'ES256',
        a.privateKey,
      );
    },
  },
  {
    name: 'jku pointing at the attacker key server',
    reason: 'forbidden_header',
    build: (c) => attackerSigned({ jku: `${c.attackerUrl}/jwks.json` })(c),
  },
  {
    name: 'x5u pointing at the attacker key server',
    reason: 'forbidden_header',
    build: (c) => attackerSigned({ x5u: `${c.attackerUrl}/cert.pem` })(c),
  },
  {
    name: 'an x5c chain',
    reason: 'forbidden_header',
    build: (c) => {
      const der = attackerEc().publicKey.export({ type: 'spki', format: 'der' });
      return attackerSigned({ x5c: [der.toString('base64')] })(c);
    },
  },
  ...(
    [
      ['kid "../../etc/passwd"', '../../etc/passwd', 'unknown_key'],
      ['kid SQL injection', "'OR'1'='1'--", 'unknown_key'],
      ['kid SQL injection with spaces', "' OR 1=1 --", 'bad_kid'],
      ['kid "__proto__"', '__proto__', 'unknown_key'],
      ['kid "constructor"', 'constructor', 'unknown_key'],
      ['an object kid', { $ne: null }, 'bad_kid'],
      ['a number kid', 1, 'bad_kid'],
      ['an empty kid', '', 'bad_kid'],
    ] as const
  ).map(([name, kid, reason]): HostileToken => ({ name, reason, build: withHeader({ kid }) })),
  { name: 'a missing kid', reason: 'bad_kid', build: withoutHeader('kid') },
  {
    name: 'crit naming an extension',
    reason: 'forbidden_header',
    build: withHeader({ crit: ['exp'], exp: 1 }),
  },
  {
    name: 'b64:false (RFC 7797)',
    reason: 'forbidden_header',
    build: withHeader({ b64: false, crit: ['b64'] }),
  },
  {
    name: 'a JWE (five segments)',
    reason: 'malformed',
    build: async (c) => {
      const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(validClaims(c.f))))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: validHeader(c.f).kid as string })
        .encrypt(new Uint8Array(32));
      expect(jwe.split('.')).toHaveLength(5);
      return jwe;
    },
  },
  {
    name: 'an expired token',
    reason: 'expired',
    build: (c) => withClaims({ iat: nowS(c.f) - 600, exp: nowS(c.f) - 1 })(c),
  },
  {
    name: 'nbf in the future beyond the skew',
    reason: 'not_yet_valid',
    build: (c) => withClaims({ nbf: nowS(c.f) + c.f.config.auth.clockSkew + 60 })(c),
  },
  {
    name: 'iat in the future beyond the skew',
    reason: 'issued_in_future',
    build: (c) => {
      const iat = nowS(c.f) + c.f.config.auth.clockSkew + 60;
      return withClaims({ iat, exp: iat + 300 })(c);
    },
  },
  { name: 'a missing exp', reason: 'bad_claims', build: withoutClaim('exp') },
  {
    name: 'a lifetime beyond the maximum',
    reason: 'lifetime_too_long',
    build: (c) => withClaims({ exp: nowS(c.f) + c.f.config.auth.maxTokenLifetime + 1 })(c),
  },
  {
    name: 'a wrong iss',
    reason: 'unknown_issuer',
    build: withClaims({ iss: 'https://idp.attacker.example' }),
  },
  {
    name: 'iss as an array',
    reason: 'unknown_issuer',
    build: (c) => withClaims({ iss: [c.f.base] })(c),
  },
  { name: 'a missing iss', reason: 'unknown_issuer', build: withoutClaim('iss') },
  {
    name: 'a wrong aud',
    reason: 'wrong_audience',
    build: withClaims({ aud: 'https://other.example' }),
  },
  {
    name: 'aud as an array holding our audience',
    reason: 'wrong_audience',
    build: (c) => withClaims({ aud: [c.f.config.auth.audience] })(c),
  },
  { name: 'a missing aud', reason: 'wrong_audience', build: withoutClaim('aud') },
  {
    name: 'typ "JWT" (an ID-token style token)',
    reason: 'bad_typ',
    build: withHeader({ typ: 'JWT' }),
  },
  {
    name: 'typ "dpop+jwt" (a DPoP proof)',
    reason: 'bad_typ',
    build: withHeader({ typ: 'dpop+jwt' }),
  },
  { name: 'a missing typ', reason: 'bad_typ', build: withoutHeader('typ') },
  {
    name: 'a token over 8 KiB',
    reason: 'too_large',
    build: (c) => withClaims({ pad: 'x'.repeat(c.f.config.auth.maxTokenBytes) })(c),
  },
  {
    name: 'a foreign key that names our kid',
    reason: 'bad_signature',
    build: (c) => forge(validHeader(c.f), validClaims(c.f), 'ES256', attackerEc().privateKey),
  },
  {
    name: 'an unknown kid',
    reason: 'unknown_key',
    build: async (c) => {
      const a = attackerEc();
      const kid = await calculateJwkThumbprint(a.jwk);
      return forge(validHeader(c.f, { kid }), validClaims(c.f), 'ES256', a.privateKey);
    },
  },
];

/** Every malicious token, in the order the suite sends them. */
export const HOSTILE_TOKENS: readonly HostileToken[] = [...FORGED_TOKENS, ...LIFECYCLE_TOKENS];
