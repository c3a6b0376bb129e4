/**
 * Adversarial tests of receipt verification, part 1: structure, header, algorithm, key lookup,
 * signature, claims and digests — each malformed or malicious receipt refused with its exact
 * reason. Batch proofs are in receipts-verify-batch.test.ts.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { forge, hmacForge, malleate, RawJson, withSignature } from '../../test/support/jws.js';
import { canonicalize, type Canonical } from './canonical.js';
import { promptSha256, textOutputSha256 } from './digests.js';
import { createReceiptSigner, type ReceiptMode } from './receipts-signer.js';
import { verifyReceipt, type ReceiptJwks, type ReceiptRejection } from './receipts-verify.js';
import type { ReceiptSubject } from './receipts.js';

const ISS = 'https://gatehouse.test';
const MESSAGES = [{ role: 'user', content: 'Hello, receipts' }];
const OUTPUT = 'Hello back ✓';
const SUBJECT: ReceiptSubject = {
  sub: 'client:alice',
  client_id: 'alice',
  request_id: 'req-1',
  model: 'echo',
  model_sha256: null,
  prompt_sha256: promptSha256(MESSAGES),
  output_sha256: textOutputSha256(OUTPUT),
  chain: 'replica-a',
  seq: 7,
};
const CLAIMS = { ...SUBJECT, iss: ISS, iat: 1_800_000_000 };

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyA = ec();
const keyB = ec();
const keyEd = generateKeyPairSync('ed25519');
let jwkA: JWK;
let jwks: ReceiptJwks;

async function publicJwk(k: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(k)), kid, alg, use: 'sig' };
}

async function receipt(mode: ReceiptMode, privateKey = keyA.privateKey, kid = 'a') {
  const signer = createReceiptSigner({
    keys: { signingKey: () => ({ kid, alg: 'ES256', privateKey }) },
    issuer: ISS,
    clock: () => CLAIMS.iat * 1000,
    mode,
  });
  const r = await signer.sign(SUBJECT);
  await signer.close();
  return r;
}

const header = (over: Record<string, unknown> = {}) => ({
  alg: 'ES256',
  kid: 'a',
  typ: 'gatehouse-receipt+jwt',
  ...over,
});
const payload = (claims: Record<string, unknown> = CLAIMS) =>
  new RawJson(canonicalize(claims as Canonical));

async function rejection(r: string, keys: ReceiptJwks = jwks, opts = {}) {
  try {
    await verifyReceipt(r, keys, opts);
  } catch (err) {
    const e = err as { reason?: ReceiptRejection; message: string };
    return { reason: e.reason, message: e.message };
  }
  return { reason: 'accepted' as const, message: '' };
}
const expectReason = async (r: string, reason: ReceiptRejection, keys?: ReceiptJwks, opts = {}) => {
  expect((await rejection(r, keys, opts)).reason).toBe(reason);
};

beforeAll(async () => {
  jwkA = await publicJwk(keyA.publicKey, 'a', 'ES256');
  jwks = {
    keys: [
      jwkA,
      await publicJwk(keyB.publicKey, 'b', 'ES256'),
      await publicJwk(keyEd.publicKey, 'ed', 'EdDSA'),
    ],
  };
});

describe('verifyReceipt accepts', () => {
  it('both formats, returning the claims, with matching prompt and output', async () => {
    for (const mode of ['single', 'batch'] as const) {
      const claims = await verifyReceipt(await receipt(mode), jwks, {
        prompt: MESSAGES,
        output: OUTPUT,
        issuer: ISS,
      });
      expect(claims).toEqual(CLAIMS);
    }
  });

  it('a hand-built receipt with the exact header and canonical claims', async () => {
    expect(await verifyReceipt(forge(header(), payload(), 'ES256', keyA.privateKey), jwks)).toEqual(
      CLAIMS,
    );
  });
});

describe('verifyReceipt refuses the structure', () => {
  it('empty, oversized, and wrongly segmented receipts', async () => {
    const good = await receipt('single');
    await expectReason('', 'malformed');
    await expectReason('a'.repeat(16_385), 'too_large');
    await expectReason(`${good}~x`, 'malformed');
    await expectReason(`${await receipt('batch')}~extra`, 'malformed');
    await expectReason(good.split('.').slice(0, 2).join('.'), 'malformed');
    await expectReason(`${good}.x`, 'malformed');
    await expectReason(`${good.slice(0, good.indexOf('.'))}=.x.y`, 'malformed');
    await expectReason(`!${good}`, 'malformed');
  });

  it('a truncated receipt', async () => {
    const good = await receipt('single');
    await expectReason(good.slice(0, -8), 'bad_signature');
    await expectReason(good.slice(0, good.lastIndexOf('.') + 1), 'bad_signature');
  });

  it('a header that is not a JSON object, or a non-canonical base64url spelling', async () => {
    await expectReason(
      forge(new RawJson('{"alg":'), payload(), 'ES256', keyA.privateKey),
      'malformed',
    );
    await expectReason(
      forge(new RawJson('[1]'), payload(), 'ES256', keyA.privateKey),
      'bad_header',
    );
    const good = await receipt('single');
    const [h = '', p = '', s = ''] = good.split('.');
    const odd = malleate(h);
    if (odd !== undefined) await expectReason(`${odd}.${p}.${s}`, 'malformed');
  });
});

describe('verifyReceipt refuses the header', () => {
  it('any member beyond alg, kid and typ', async () => {
    for (const extra of [
      { crit: ['exp'] },
      { jku: 'https://evil.test/jwks' },
      { jwk: jwkA },
      { x5u: 'https://evil.test/x' },
      { b64: false },
      { cty: 'json' },
    ]) {
      const r = await rejection(forge(header(extra), payload(), 'ES256', keyA.privateKey));
      expect(r.reason, JSON.stringify(extra)).toBe('bad_header');
    }
  });

  it('a wrong or missing typ, and the batch typ on a single receipt', async () => {
    for (const typ of ['JWT', 'at+jwt', 'Gatehouse-Receipt+JWT', 'gatehouse-receipt', undefined]) {
      const h = typ === undefined ? { alg: 'ES256', kid: 'a' } : header({ typ });
      await expectReason(forge(h, payload(), 'ES256', keyA.privateKey), 'bad_typ');
    }
    const batchTyp = header({ typ: 'gatehouse-receipt-batch+jwt' });
    await expectReason(forge(batchTyp, payload(), 'ES256', keyA.privateKey), 'bad_typ');
    await expectReason(`${await receipt('single')}~e30~e30`, 'bad_typ');
  });

  it('alg none, HMAC with the public key as secret, and algorithms not allowed', async () => {
    await expectReason(withSignature(header({ alg: 'none' }), payload(), ''), 'alg_not_allowed');
    const secret = Buffer.from(JSON.stringify(jwkA));
    await expectReason(
      hmacForge(header({ alg: 'HS256' }), payload(), 'HS256', secret),
      'alg_not_allowed',
    );
    await expectReason(
      forge(header({ alg: 'ES384' }), payload(), 'ES256', keyA.privateKey),
      'alg_not_allowed',
    );
    const es = forge(header(), payload(), 'ES256', keyA.privateKey);
    await expectReason(es, 'alg_not_allowed', jwks, { algorithms: ['EdDSA'] });
  });

  it('a missing or empty kid', async () => {
    await expectReason(
      forge({ alg: 'ES256', typ: 'gatehouse-receipt+jwt' }, payload(), 'ES256', keyA.privateKey),
      'bad_header',
    );
    await expectReason(
      forge(header({ kid: '' }), payload(), 'ES256', keyA.privateKey),
      'bad_header',
    );
  });
});

describe('verifyReceipt refuses the key', () => {
  it('a kid not in the set, or an empty set', async () => {
    await expectReason(await receipt('single', keyA.privateKey, 'zzz'), 'unknown_key');
    await expectReason(await receipt('batch'), 'unknown_key', { keys: [] });
  });

  it('a kid listed twice, a private JWK and a JWK that is not a key', async () => {
    const r = await receipt('single');
    await expectReason(r, 'unknown_key', { keys: [jwkA, { ...jwkA }] });
    const priv = { ...(await exportJWK(keyA.privateKey)), kid: 'a', alg: 'ES256' };
    await expectReason(r, 'unknown_key', { keys: [priv] });
    await expectReason(r, 'unknown_key', { keys: [{ kid: 'a', kty: 'oct', k: 'AAAA' }] });
  });

  it('a key published for another alg, or of a type that does not fit', async () => {
    const r = await receipt('single');
    await expectReason(r, 'key_mismatch', { keys: [{ ...jwkA, alg: 'ES384' }] });
    const edAsA = { ...(await exportJWK(keyEd.publicKey)), kid: 'a' };
    await expectReason(r, 'key_mismatch', { keys: [edAsA] });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    await expectReason(r, 'key_mismatch', { keys: [{ ...(await exportJWK(p384)), kid: 'a' }] });
  });
});

describe('verifyReceipt refuses the signature', () => {
  it('a swapped kid: signed by one key, naming another', async () => {
    await expectReason(await receipt('single', keyA.privateKey, 'b'), 'bad_signature');
    await expectReason(await receipt('batch', keyB.privateKey, 'a'), 'bad_signature');
  });

  it('an attacker key under our kid, a flipped signature and an altered claim', async () => {
    await expectReason(await receipt('single', ec().privateKey, 'a'), 'bad_signature');
    const good = await receipt('single');
    const flipped = good.slice(0, -2) + (good.endsWith('A') ? 'BA' : 'AA');
    await expectReason(flipped, 'bad_signature');
    const [h = '', , s = ''] = good.split('.');
    for (const change of [
      { sub: 'client:mallory' },
      { seq: 8 },
      { output_sha256: 'f'.repeat(64) },
    ]) {
      const altered = payload({ ...CLAIMS, ...change }).text;
      await expectReason(
        `${h}.${Buffer.from(altered).toString('base64url')}.${s}`,
        'bad_signature',
      );
    }
  });
});

describe('verifyReceipt refuses the claims', () => {
  const signed = (p: Record<string, unknown> | RawJson) =>
    forge(header(), p instanceof RawJson ? p : payload(p), 'ES256', keyA.privateKey);

  it('a payload that is not canonical JSON or not an object', async () => {
    await expectReason(signed(new RawJson(JSON.stringify(CLAIMS, null, 1))), 'bad_claims');
    await expectReason(signed(new RawJson('[]')), 'bad_claims');
    const twice = canonicalize(CLAIMS).replace('{', '{"sub":"client:mallory",');
    await expectReason(signed(new RawJson(twice)), 'bad_claims');
    await expectReason(signed(new RawJson('not json')), 'bad_claims');
  });

  it('each missing or ill-typed claim, by name', async () => {
    const cases: [string, unknown][] = [
      ['sub', undefined],
      ['client_id', 5],
      ['prompt_sha256', 'A'.repeat(64)],
      ['model_sha256', 'abc'],
      ['seq', 0],
      ['iat', 1.5],
      ['chain', ''],
    ];
    for (const [name, value] of cases) {
      const r = await rejection(signed({ ...CLAIMS, [name]: value }));
      expect(r).toEqual({
        reason: 'bad_claims',
        message: `bad_claims: claim ${name} is missing or malformed`,
      });
    }
  });

  it('another issuer, another prompt, another output', async () => {
    const r = await receipt('batch');
    await expectReason(r, 'wrong_issuer', jwks, { issuer: 'https://other.test' });
    await expectReason(r, 'prompt_mismatch', jwks, { prompt: [{ role: 'user', content: 'Hi' }] });
    await expectReason(r, 'prompt_mismatch', jwks, { prompt: JSON.stringify(MESSAGES) });
    await expectReason(r, 'output_mismatch', jwks, { output: `${OUTPUT}\n` });
  });
});
