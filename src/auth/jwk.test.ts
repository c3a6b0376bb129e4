import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { createClient } from './clients.js';
import { AssertionKeys } from './oauth/assertion-keys.js';
import { jwksFileKeys, parsePublicJwk } from './jwk.js';
import type { ClientRecord, Store } from '../store/index.js';

const ec = { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' };

describe('client public keys', () => {
  it.each([
    ['an EC key without y', { kty: 'EC', crv: 'P-256', x: 'AAAA' }],
    ['an EC key on an unknown curve', { ...ec, crv: 'secp256k1' }],
    ['an EC private key', { ...ec, d: 'CCCC' }],
    ['an RSA private key', { kty: 'RSA', n: 'AQAB', e: 'AQAB', p: 'AQ' }],
    ['a symmetric key', { kty: 'oct', k: 'AAAA' }],
    ['an encryption key', { ...ec, use: 'enc' }],
    ['a non-object', 'EC'],
  ])('refuses %s', (_, input) => {
    expect(parsePublicJwk(input)).toHaveProperty('error');
  });

  it('accepts public EC, OKP and RSA keys and keeps their other members', () => {
    expect(parsePublicJwk({ ...ec, kid: 'a', x5t: 't' })).toEqual({
      jwk: { ...ec, kid: 'a', x5t: 't' },
    });
    expect(parsePublicJwk({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' })).toHaveProperty('jwk');
    expect(parsePublicJwk({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })).toHaveProperty('jwk');
  });

  it('reads a JWKS file as a set or a single key', () => {
    expect(jwksFileKeys({ keys: [ec] })).toEqual({ keys: [ec] });
    expect(jwksFileKeys(ec)).toEqual({ keys: [ec] });
    expect(jwksFileKeys([ec])).toHaveProperty('error');
  });

  it('registration refuses a malformed key, naming which one and why', async () => {
    const store = { clients: { insert: () => Promise.resolve() } } as unknown as Store;
    const attempt = createClient(store, Date.now, {
      name: 'k',
      roles: ['developer'],
      jwks: [ec, { kty: 'EC', crv: 'P-256', x: 'AAAA' }],
    });
    await expect(attempt).rejects.toThrow(BadRequestError);
    await expect(attempt).rejects.toThrow(/^key 2: .*\(y\)/);
  });
});

describe('AssertionKeys', () => {
  const record = (jwks: Record<string, unknown>[]): ClientRecord => ({
    id: 'gh_k',
    name: 'k',
    secretHash: null,
    jwks,
    authMethods: ['private_key_jwt'],
    roles: ['developer'],
    scopes: [],
    allowRefresh: false,
    limits: null,
    createdAt: 0,
    revokedAt: null,
  });

  it('imports a client key once, and again only when the stored set changes', async () => {
    const one = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const two = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const keys = new AssertionKeys();
    const [first] = await keys.forAlg(record([{ ...one }]), 'ES256');
    const [again] = await keys.forAlg(record([{ ...one }]), 'ES256');
    expect(first).toBeDefined();
    expect(again).toBe(first);
    const changed = await keys.forAlg(record([{ ...two }]), 'ES256');
    expect(changed).toHaveLength(1);
    expect(changed[0]).not.toBe(first);
  });

  it('skips stored keys that are not valid public keys, and keys for another alg', async () => {
    const good = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const keys = new AssertionKeys();
    const found = await keys.forAlg(
      record([{ kty: 'EC', d: 'x' }, { ...good, alg: 'ES384' }, { ...good }]),
      'ES256',
    );
    expect(found).toHaveLength(1);
  });
});
