/**
 * @module test/dpop — RFC 9449 over HTTP (inject): DPoP-bound tokens from the token endpoint,
 * proofs at the protected resource (htm, htu, ath, iat window, jti replay, key binding, header
 * rules), the DPoP challenge, and refresh-token binding.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, form, startApp, type Fixture } from './support/app-fixture.js';

interface ProofKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  jkt: string;
}

async function newKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    privateKey,
    publicJwk,
    privateJwk: await exportJWK(privateKey),
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
  };
}

const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

interface ProofOptions {
  htm?: string;
  htu?: string;
  /** Seconds relative to the fixture clock. */
  iatOffset?: number;
  jti?: string;
  ath?: string | undefined;
  /** '' leaves `typ` out. */
  typ?: string;
  jwk?: JWK;
}

const seg = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

interface TokenBody {
  access_token: string;
  token_type: string;
  refresh_token?: string;
  error?: string;
}

describe('DPoP (RFC 9449)', () => {
  let f: Fixture;
  let key: ProofKey;
  let other: ProofKey;
  let client: { id: string; secret: string };
  let bound: string;

  const modelsUrl = (): string => `${f.base}/v1/models`;
  const tokenUrl = (): string => `${f.base}/oauth/token`;

  function proof(k: ProofKey, o: ProofOptions = {}): Promise<string> {
    const claims: Record<string, unknown> = {
      htm: o.htm ?? 'GET',
      htu: o.htu ?? modelsUrl(),
      iat: Math.floor(f.now / 1000) + (o.iatOffset ?? 0),
      jti: o.jti ?? randomUUID(),
    };
    if (o.ath !== undefined) claims.ath = o.ath;
    const typ = o.typ ?? 'dpop+jwt';
    return new SignJWT(claims)
      .setProtectedHeader({
        ...(typ === '' ? {} : { typ }),
        alg: 'ES256',
        jwk: o.jwk ?? k.publicJwk,
      })
      .sign(k.privateKey);
  }

  /** A proof for GET /v1/models with the right ath for `token`. */
  const resourceProof = (k: ProofKey, token: string, o: ProofOptions = {}): Promise<string> =>
    proof(k, { ath: ath(token), ...o });

  function requestToken(params: Record<string, string>, dpop?: string) {
    return f.app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: basic(client.id, client.secret),
        'content-type': 'application/x-www-form-urlencoded',
        ...(dpop === undefined ? {} : { dpop }),
      },
      payload: form(params),
    });
  }

  async function boundToken(k: ProofKey): Promise<TokenBody> {
    const res = await requestToken(
      { grant_type: 'client_credentials' },
      await proof(k, { htm: 'POST', htu: tokenUrl() }),
    );
    expect(res.statusCode).toBe(200);
    return res.json<TokenBody>();
  }

  function getModels(authorization: string, dpop?: string) {
    return f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization, ...(dpop === undefined ? {} : { dpop }) },
    });
  }

  beforeAll(async () => {
    f = await startApp();
    key = await newKey();
    other = await newKey();
    client = await f.client({ roles: ['developer'], allowRefresh: true });
    bound = (await boundToken(key)).access_token;
  });
  afterAll(async () => {
    await f.close();
  });

  describe('token endpoint', () => {
    it('binds the token to the proof key: token_type DPoP and cnf.jkt = RFC 7638 thumbprint', async () => {
      const body = await boundToken(key);
      expect(body.token_type).toBe('DPoP');
      expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
    });

    it('issues an unbound Bearer token without a proof', async () => {
      const res = await requestToken({ grant_type: 'client_credentials' });
      expect(res.json<TokenBody>().token_type).toBe('Bearer');
      expect(decodeJwt(res.json<TokenBody>().access_token).cnf).toBeUndefined();
    });

    const badProofs: [string, () => Promise<string> | string][] = [
      ['garbage', () => 'not-a-proof'],
      ['the wrong htu', () => proof(key, { htm: 'POST', htu: modelsUrl() })],
      ['the wrong htm', () => proof(key, { htm: 'GET', htu: tokenUrl() })],
      ['typ JWT', () => proof(key, { htm: 'POST', htu: tokenUrl(), typ: 'JWT' })],
      ['an old iat', () => proof(key, { htm: 'POST', htu: tokenUrl(), iatOffset: -120 })],
      ['a private jwk', () => proof(key, { htm: 'POST', htu: tokenUrl(), jwk: key.privateJwk })],
    ];
    it.each(badProofs)('refuses a proof with %s: 400 invalid_dpop_proof', async (_n, make) => {
      const res = await requestToken({ grant_type: 'client_credentials' }, await make());
      expect(res.statusCode).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json<TokenBody>().error).toBe('invalid_dpop_proof');
    });

    it('refuses two DPoP headers at the token endpoint', async () => {
      const p = () => proof(key, { htm: 'POST', htu: tokenUrl() });
      const res = await f.app.http.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: {
          authorization: basic(client.id, client.secret),
          'content-type': 'application/x-www-form-urlencoded',
          dpop: [await p(), await p()],
        },
        payload: form({ grant_type: 'client_credentials' }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<TokenBody>().error).toBe('invalid_dpop_proof');
    });

    it('refuses a replayed proof at the token endpoint', async () => {
      const p = await proof(key, { htm: 'POST', htu: tokenUrl() });
      expect((await requestToken({ grant_type: 'client_credentials' }, p)).statusCode).toBe(200);
      const again = await requestToken({ grant_type: 'client_credentials' }, p);
      expect(again.statusCode).toBe(400);
      expect(again.json<TokenBody>().error).toBe('invalid_dpop_proof');
    });
  });

  describe('protected resource', () => {
    it('accepts the bound token with the DPoP scheme and a valid proof', async () => {
      const res = await getModels(`DPoP ${bound}`, await resourceProof(key, bound));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ object: 'list', data: [] });
    });

    it('matches the DPoP scheme case-insensitively', async () => {
      const res = await getModels(`dpop ${bound}`, await resourceProof(key, bound));
      expect(res.statusCode).toBe(200);
    });

    it('refuses the bound token under the Bearer scheme, even with a valid proof', async () => {
      const res = await getModels(`Bearer ${bound}`, await resourceProof(key, bound));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('refuses the DPoP scheme without a proof, with a DPoP challenge', async () => {
      const res = await getModels(`DPoP ${bound}`);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        'DPoP realm="gatehouse", error="invalid_token", error_description="The access token is invalid", algs="ES256 EdDSA RS256 PS256 ES384"',
      );
      expect(res.json()).toEqual({
        error: {
          message: 'The access token is invalid',
          type: 'authentication_error',
          param: null,
          code: 'invalid_token',
        },
      });
    });

    const bad: [string, (token: string) => Promise<string> | string][] = [
      ['the wrong method', (t) => resourceProof(key, t, { htm: 'POST' })],
      ['a lower-case method', (t) => resourceProof(key, t, { htm: 'get' })],
      ['the wrong path', (t) => resourceProof(key, t, { htu: `${f.base}/v1/embeddings` })],
      ['the wrong host', (t) => resourceProof(key, t, { htu: 'http://evil.example/v1/models' })],
      [
        'the wrong scheme',
        (t) => resourceProof(key, t, { htu: modelsUrl().replace('http:', 'https:') }),
      ],
      ['a path differing in case', (t) => resourceProof(key, t, { htu: `${f.base}/v1/MODELS` })],
      ['no ath', () => proof(key)],
      ['the ath of another token', () => proof(key, { ath: ath('another-token') })],
      ['an iat 61 s old', (t) => resourceProof(key, t, { iatOffset: -61 })],
      ['an iat far in the future', (t) => resourceProof(key, t, { iatOffset: 3600 })],
      ['an iat beyond the allowed skew', (t) => resourceProof(key, t, { iatOffset: 61 })],
      ['another key than the bound one', (t) => resourceProof(other, t)],
      [
        'the bound key in jwk but signed by another key',
        (t) => resourceProof(other, t, { jwk: key.publicJwk }),
      ],
      ['typ JWT', (t) => resourceProof(key, t, { typ: 'JWT' })],
      ['no typ', (t) => resourceProof(key, t, { typ: '' })],
      ['a private key in jwk', (t) => resourceProof(key, t, { jwk: key.privateJwk })],
      [
        'alg HS256',
        async (t) =>
          new SignJWT({
            htm: 'GET',
            htu: modelsUrl(),
            iat: Math.floor(f.now / 1000),
            jti: randomUUID(),
            ath: ath(t),
          })
            .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: key.publicJwk })
            .sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef')),
      ],
      [
        'alg none',
        (t) =>
          `${seg({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk })}.${seg({
            htm: 'GET',
            htu: modelsUrl(),
            iat: Math.floor(f.now / 1000),
            jti: randomUUID(),
            ath: ath(t),
          })}.`,
      ],
    ];
    it.each(bad)('refuses a proof with %s: 401 and a DPoP challenge', async (_n, make) => {
      const res = await getModels(`DPoP ${bound}`, await make(bound));
      expect(res.statusCode).toBe(401);
      const challenge = res.headers['www-authenticate'];
      expect(challenge).toMatch(
        /^DPoP realm="gatehouse", error="invalid_(token|dpop_proof)", error_description="[^"]+", algs="ES256 EdDSA RS256 PS256 ES384"$/,
      );
      // The bound token itself is still good: a fresh valid proof is accepted.
      expect((await getModels(`DPoP ${bound}`, await resourceProof(key, bound))).statusCode).toBe(
        200,
      );
    });

    it('accepts a proof at the edge of the window (60 s old, or within the skew ahead)', async () => {
      for (const iatOffset of [-60, 60]) {
        const res = await getModels(
          `DPoP ${bound}`,
          await resourceProof(key, bound, { iatOffset }),
        );
        expect(res.statusCode).toBe(200);
      }
    });

    it('ignores the query string of the request URL when matching htu', async () => {
      const res = await f.app.http.inject({
        method: 'GET',
        url: '/v1/models?limit=5',
        headers: { authorization: `DPoP ${bound}`, dpop: await resourceProof(key, bound) },
      });
      expect(res.statusCode).toBe(200);
    });

    it('refuses two DPoP headers, even if both are valid', async () => {
      const res = await f.app.http.inject({
        method: 'GET',
        url: '/v1/models',
        headers: {
          authorization: `DPoP ${bound}`,
          dpop: [await resourceProof(key, bound), await resourceProof(key, bound)],
        },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^DPoP /);
    });

    it('refuses a replayed proof (same jti), even after a fresh iat', async () => {
      const jti = randomUUID();
      const p = await resourceProof(key, bound, { jti });
      expect((await getModels(`DPoP ${bound}`, p)).statusCode).toBe(200);
      expect((await getModels(`DPoP ${bound}`, p)).statusCode).toBe(401);
      const sameJti = await resourceProof(key, bound, { jti, iatOffset: 1 });
      expect((await getModels(`DPoP ${bound}`, sameJti)).statusCode).toBe(401);
    });

    it('refuses a token bound to another key, even with a valid proof of that other key', async () => {
      const theirs = (await boundToken(other)).access_token;
      const res = await getModels(`DPoP ${theirs}`, await resourceProof(key, theirs));
      expect(res.statusCode).toBe(401);
      expect(
        (await getModels(`DPoP ${theirs}`, await resourceProof(other, theirs))).statusCode,
      ).toBe(200);
    });

    it('refuses an unbound token under the DPoP scheme', async () => {
      const res = await requestToken({ grant_type: 'client_credentials' });
      const plain = res.json<TokenBody>().access_token;
      const r = await getModels(`DPoP ${plain}`, await resourceProof(key, plain));
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^DPoP /);
      expect((await getModels(`Bearer ${plain}`)).statusCode).toBe(200);
    });

    it('uses the DPoP scheme in the challenge for a malformed DPoP Authorization header', async () => {
      const res = await getModels('DPoP a b', await resourceProof(key, bound));
      expect(res.statusCode).toBe(400);
      expect(res.headers['www-authenticate']).toMatch(
        /^DPoP realm="gatehouse", error="invalid_request"/,
      );
    });

    it('uses the DPoP scheme in a 403 insufficient_scope challenge', async () => {
      const narrow = await f.client({ roles: ['developer'], scopes: ['inference:invoke'] });
      const res = await f.app.http.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: {
          authorization: basic(narrow.id, narrow.secret),
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await proof(key, { htm: 'POST', htu: tokenUrl() }),
        },
        payload: form({ grant_type: 'client_credentials' }),
      });
      const token = res.json<TokenBody>().access_token;
      const r = await getModels(`DPoP ${token}`, await resourceProof(key, token));
      expect(r.statusCode).toBe(403);
      expect(r.headers['www-authenticate']).toMatch(
        /^DPoP realm="gatehouse", error="insufficient_scope"/,
      );
      expect(r.headers['www-authenticate']).toContain('scope="models:read"');
    });
  });

  describe('refresh of a DPoP-bound refresh token', () => {
    const refreshWith = async (refresh: string, k?: ProofKey) =>
      requestToken(
        { grant_type: 'refresh_token', refresh_token: refresh },
        k === undefined ? undefined : await proof(k, { htm: 'POST', htu: tokenUrl() }),
      );

    it('refuses a refresh without a proof: 400 invalid_grant', async () => {
      const { refresh_token } = await boundToken(key);
      const res = await refreshWith(refresh_token!);
      expect(res.statusCode).toBe(400);
      expect(res.json<TokenBody>().error).toBe('invalid_grant');
    });

    it('refuses a refresh with a proof of another key: 400 invalid_grant', async () => {
      const { refresh_token } = await boundToken(key);
      const res = await refreshWith(refresh_token!, other);
      expect(res.statusCode).toBe(400);
      expect(res.json<TokenBody>().error).toBe('invalid_grant');
    });

    it('refreshes with the same key, and the new tokens stay bound', async () => {
      const first = await boundToken(key);
      expect(first.refresh_token).toBeDefined();
      const res = await refreshWith(first.refresh_token!, key);
      expect(res.statusCode).toBe(200);
      const body = res.json<TokenBody>();
      expect(body.token_type).toBe('DPoP');
      expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
      const next = await refreshWith(body.refresh_token!, key);
      expect(next.statusCode).toBe(200);
      expect(decodeJwt(next.json<TokenBody>().access_token).cnf).toEqual({ jkt: key.jkt });
      const again = next.json<TokenBody>().access_token;
      const use = await getModels(`DPoP ${again}`, await resourceProof(key, again));
      expect(use.statusCode).toBe(200);
    });

    // The binding is checked before the token is consumed: a thief without the key must not be
    // able to burn the token and make the key holder's next refresh look like reuse.
    it('still lets the key holder refresh after someone without the key tried', async () => {
      const { access_token, refresh_token } = await boundToken(key);
      expect((await refreshWith(refresh_token!)).statusCode).toBe(400);
      expect((await refreshWith(refresh_token!, other)).statusCode).toBe(400);
      const use = await getModels(`DPoP ${access_token}`, await resourceProof(key, access_token));
      expect(use.statusCode).toBe(200);
      const res = await refreshWith(refresh_token!, key);
      expect(res.statusCode).toBe(200);
      expect(res.json<TokenBody>().token_type).toBe('DPoP');
    });
  });
});
