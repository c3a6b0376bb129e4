/**
 * RemoteJwks against a real local identity provider (node:http on 127.0.0.1): verification of
 * external tokens, the refetch cooldown under an unknown-kid flood, the last good key set when the
 * provider fails, discovery issuer checks, and the keys it must never use.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createVerifierFixture,
  OWN_ISSUER,
  type VerifierFixture,
} from '../../../test/support/verifier-fixture.js';
import { b64u, withSignature } from '../../../test/support/jws.js';
import { ES, IDP, RS, makeKey, startIdp, type Idp } from '../../../test/support/idp.js';
import { TokenError, type TokenRejection } from './errors.js';
import { RemoteJwks, type RemoteJwksOptions } from './remote-jwks.js';
import type { TrustedIssuer, Verifier } from './verifier.js';

const COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 600_000;

let fx: VerifierFixture;
let start: number;
let idp: Idp;
/** URLs the RemoteJwks asked for through the injected fetch. */
let fetched: string[];
let errors: string[];

const countingFetch: typeof globalThis.fetch = (input, init) => {
  fetched.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  return fetch(input, init);
};

beforeAll(async () => {
  fx = await createVerifierFixture();
  start = fx.time.now();
});
afterAll(async () => {
  await fx.close();
});
beforeEach(async () => {
  fx.time.set(start);
  fetched = [];
  errors = [];
  idp = await startIdp();
});
afterEach(async () => {
  await idp.close();
});

function remote(overrides: Partial<RemoteJwksOptions> = {}): RemoteJwks {
  return new RemoteJwks({
    issuer: IDP,
    jwksUri: `${idp.base}/jwks`,
    algorithms: ['ES256', 'RS256'],
    cooldownMs: COOLDOWN_MS,
    timeoutMs: 2000,
    maxAgeMs: MAX_AGE_MS,
    clock: fx.time.clock,
    fetch: countingFetch,
    onError: (m) => errors.push(m),
    ...overrides,
  });
}

function externalVerifier(keys: RemoteJwks, algorithms: string[] = ['ES256', 'RS256']): Verifier {
  const external: TrustedIssuer = {
    rules: {
      issuer: IDP,
      audience: OWN_ISSUER,
      audienceArray: true,
      own: false,
      rolesClaim: 'groups',
      scopeClaim: 'scp',
      maxLifetime: 3600,
      skew: 60,
    },
    algorithms: new Set(algorithms),
    typs: new Set([undefined, 'jwt', 'at+jwt']),
    keys,
  };
  return fx.makeVerifier({ issuers: [fx.trusted, external] });
}

/** A token from the provider; `claims` replace the defaults (an `undefined` value removes one). */
async function externalToken(
  key: { privateKey: KeyObject | Uint8Array; kid: string },
  alg: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = fx.time.now();
  const payload = {
    iss: IDP,
    sub: 'alice',
    aud: [OWN_ISSUER, 'https://other.example'],
    iat: now,
    exp: now + 300,
    jti: randomBytes(8).toString('hex'),
    groups: ['developer'],
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

async function refused(v: Verifier, token: string, reason: TokenRejection): Promise<void> {
  const outcome = await v.verify(token).then(
    () => 'accepted',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(TokenError);
  expect(outcome).toMatchObject({ reason });
}

describe('RemoteJwks', () => {
  it('verifies ES256 and RS256 tokens from the provider with one JWKS fetch', async () => {
    const v = externalVerifier(remote());
    const es = await v.verify(await externalToken(ES, 'ES256'));
    expect(es).toMatchObject({ issuer: IDP, subject: 'alice', own: false, roles: ['developer'] });
    // No scope claim: marked so, and the policy grants what the roles allow, per request.
    expect(es).toMatchObject({ unscoped: true, scopes: new Set() });
    await expect(v.verify(await externalToken(RS, 'RS256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    expect(fetched).toEqual([`${idp.base}/jwks`]);
  });

  it('lets an unknown-kid flood cost the provider exactly one fetch per cooldown', async () => {
    const v = externalVerifier(remote());
    const forged = () =>
      externalToken({ ...ES, kid: randomBytes(12).toString('base64url') }, 'ES256');
    const flood = async () => {
      const tokens = await Promise.all(Array.from({ length: 100 }, forged));
      const results = await Promise.allSettled(tokens.map((t) => v.verify(t)));
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: 'unknown_key' });
      }
    };

    await flood(); // cold: 100 concurrent unknown kids
    expect(fetched).toHaveLength(1);
    fx.time.advance(COOLDOWN_MS / 1000 - 1);
    await flood(); // still within the cooldown
    expect(fetched).toHaveLength(1);
    fx.time.advance(1);
    await flood(); // cooldown over: one more
    expect(fetched).toHaveLength(2);
    expect(idp.hits).toHaveLength(2);
  });

  it('does not fetch for an unknown kid right after a good fetch', async () => {
    const v = externalVerifier(remote());
    await v.verify(await externalToken(ES, 'ES256'));
    for (let i = 0; i < 20; i++) {
      await refused(v, await externalToken({ ...ES, kid: `x${i}` }, 'ES256'), 'unknown_key');
    }
    expect(fetched).toHaveLength(1);
  });

  it('picks up a key the provider adds, on the first unknown kid after the cooldown', async () => {
    const v = externalVerifier(remote());
    await v.verify(await externalToken(ES, 'ES256'));
    const added = makeKey('es-2', 'ES256');
    idp.jwks = { keys: [ES.jwk, added.jwk] };
    const token = await externalToken(added, 'ES256');
    await refused(v, token, 'unknown_key');
    fx.time.advance(COOLDOWN_MS / 1000);
    await expect(v.verify(token)).resolves.toMatchObject({ subject: 'alice' });
    expect(fetched).toHaveLength(2);
  });

  it('keeps the last good key set while the provider answers 500', async () => {
    const v = externalVerifier(remote());
    await v.verify(await externalToken(ES, 'ES256'));
    idp.status = 500;
    fx.time.advance(MAX_AGE_MS / 1000 + 1); // stale: the next request triggers a refetch
    await expect(v.verify(await externalToken(ES, 'ES256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    expect(fetched).toHaveLength(2);
    expect(errors).toEqual([expect.stringContaining('HTTP 500')]);
  });

  it('keeps the last good key set while the provider is down', async () => {
    const v = externalVerifier(remote());
    await v.verify(await externalToken(RS, 'RS256'));
    await idp.close();
    fx.time.advance(MAX_AGE_MS / 1000 + 1);
    await expect(v.verify(await externalToken(RS, 'RS256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    expect(fetched).toHaveLength(2);
    expect(errors).toHaveLength(1);
    idp = await startIdp(); // so afterEach has something to close
  });

  it('keeps the last good key set when the provider hangs past the timeout', async () => {
    const v = externalVerifier(remote({ timeoutMs: 200 }));
    await v.verify(await externalToken(ES, 'ES256'));
    idp.hang = true;
    fx.time.advance(MAX_AGE_MS / 1000 + 1);
    await expect(v.verify(await externalToken(ES, 'ES256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    expect(errors).toHaveLength(1);
  });

  it('refuses a discovery document naming a different issuer, and never fetches its jwks_uri', async () => {
    idp.discoveryIssuer = 'https://evil.example';
    const v = externalVerifier(
      remote({ jwksUri: undefined, discovery: `${idp.base}/.well-known/openid-configuration` }),
    );
    await refused(v, await externalToken(ES, 'ES256'), 'unknown_key');
    expect(fetched).toEqual([`${idp.base}/.well-known/openid-configuration`]);
    expect(errors).toEqual([expect.stringContaining('discovery issuer mismatch')]);
  });

  it('follows a discovery document naming the configured issuer (control)', async () => {
    const v = externalVerifier(
      remote({ jwksUri: undefined, discovery: `${idp.base}/.well-known/openid-configuration` }),
    );
    await expect(v.verify(await externalToken(ES, 'ES256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    expect(fetched).toEqual([`${idp.base}/.well-known/openid-configuration`, `${idp.base}/jwks`]);
  });

  it('refuses a token whose alg differs from the alg the JWKS pins for that key', async () => {
    const v = externalVerifier(remote({ algorithms: ['RS256', 'PS256'] }), ['RS256', 'PS256']);
    // Same RSA key, but the JWKS says it is for RS256 only.
    await refused(v, await externalToken(RS, 'PS256'), 'unknown_key');
    await expect(v.verify(await externalToken(RS, 'RS256'))).resolves.toMatchObject({
      subject: 'alice',
    });
  });

  it('uses an RSA key published without alg for every allowed RS/PS algorithm', async () => {
    const { alg: _alg, ...bare } = RS.jwk;
    idp.jwks = { keys: [bare] };
    const v = externalVerifier(remote({ algorithms: ['RS256', 'PS256'] }), ['RS256', 'PS256']);
    await expect(v.verify(await externalToken(RS, 'PS256'))).resolves.toMatchObject({
      subject: 'alice',
    });
    await expect(v.verify(await externalToken(RS, 'RS256'))).resolves.toMatchObject({
      subject: 'alice',
    });
  });

  it('does not use a key published without alg for an algorithm the issuer does not allow', async () => {
    const { alg: _alg, ...bare } = RS.jwk;
    idp.jwks = { keys: [bare] };
    const jwks = remote({ algorithms: ['RS256'] });
    expect(await jwks.get('rs-1', 'RS256')).toBeDefined();
    expect(await jwks.get('rs-1', 'PS256')).toBeUndefined();
  });

  it('ignores symmetric (kty oct) keys even when HS256 is allowed', async () => {
    const secret = randomBytes(32);
    idp.jwks = {
      keys: [
        { kty: 'oct', kid: 'hmac', alg: 'HS256', k: b64u(secret) },
        { kty: 'oct', kid: 'hmac2', k: b64u(secret) },
      ],
    };
    const jwks = remote({ algorithms: ['ES256', 'HS256'] });
    const v = externalVerifier(jwks, ['ES256', 'HS256']);
    await refused(
      v,
      await externalToken({ privateKey: secret, kid: 'hmac' }, 'HS256'),
      'unknown_key',
    );
    expect(await jwks.get('hmac', 'HS256')).toBeUndefined();
    expect(await jwks.get('hmac2', 'HS256')).toBeUndefined();
    expect(fetched).toHaveLength(1);
  });

  it('ignores private keys and encryption keys published in the JWKS', async () => {
    const priv = { ...(ES.privateKey.export({ format: 'jwk' }) as JWK), kid: 'priv', alg: 'ES256' };
    idp.jwks = { keys: [priv, { ...ES.jwk, kid: 'enc', use: 'enc' }] };
    const jwks = remote();
    expect(await jwks.get('priv', 'ES256')).toBeUndefined();
    expect(await jwks.get('enc', 'ES256')).toBeUndefined();
    expect(fetched).toHaveLength(1);
  });

  it('still uses the good keys when the JWKS also holds junk entries', async () => {
    idp.jwks = { keys: [null, 'x', 42, { kty: 'EC' }, ES.jwk] };
    const v = externalVerifier(remote());
    await expect(v.verify(await externalToken(ES, 'ES256'))).resolves.toMatchObject({
      subject: 'alice',
    });
  });

  it('refuses to follow a redirect from the JWKS URL', async () => {
    const v = externalVerifier(remote({ jwksUri: `${idp.base}/redirect` }));
    await refused(v, await externalToken(ES, 'ES256'), 'unknown_key');
    expect(idp.hits).toEqual(['/redirect']);
  });

  it('spends no fetch on tokens refused by cheaper checks', async () => {
    const v = externalVerifier(remote());
    const now = fx.time.now();
    await refused(v, await externalToken(ES, 'ES256', { exp: now - 1 }), 'expired');
    const es512 = withSignature(
      { alg: 'ES512', kid: 'zz', typ: 'JWT' },
      { iss: IDP, sub: 'alice', aud: OWN_ISSUER, iat: now, exp: now + 60 },
      Buffer.alloc(132),
    );
    await refused(v, es512, 'alg_not_allowed');
    const otherIssuer = await externalToken(ES, 'ES256', { iss: idp.base });
    await refused(v, otherIssuer, 'unknown_issuer');
    expect(fetched).toHaveLength(0);
    expect(idp.hits).toHaveLength(0);
  });

  it('requires our audience in an external token', async () => {
    const v = externalVerifier(remote());
    await refused(
      v,
      await externalToken(ES, 'ES256', { aud: ['https://other.example'] }),
      'wrong_audience',
    );
  });
});
