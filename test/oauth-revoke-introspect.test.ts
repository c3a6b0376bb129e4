/**
 * Revocation (RFC 7009) and introspection (RFC 7662) through `inject()`: both require client
 * authentication; revocation takes effect at once, also for verifications already cached; a
 * client can only revoke its own tokens; introspection says exactly `{"active":false}` for any
 * token that is not an active one of ours.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, form, startApp, type Fixture, modelsStatus } from './support/app-fixture.js';

const FORM = 'application/x-www-form-urlencoded';
const IDP = 'https://idp.example.test';

interface Client {
  id: string;
  secret: string;
}

interface TokenBody {
  access_token: string;
  refresh_token?: string;
}

function post(f: Fixture, url: string, params: Record<string, string>, c?: Client) {
  return f.app.http.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': FORM,
      ...(c === undefined ? {} : { authorization: basic(c.id, c.secret) }),
    },
    payload: form(params),
  });
}

async function issue(f: Fixture, c: Client): Promise<TokenBody> {
  const res = await post(f, '/oauth/token', { grant_type: 'client_credentials' }, c);
  expect(res.statusCode).toBe(200);
  return res.json<TokenBody>();
}

function refresh(f: Fixture, c: Client, refreshToken: string) {
  return post(f, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, c);
}

async function revoke(f: Fixture, c: Client, token: string): Promise<void> {
  const res = await post(f, '/oauth/revoke', { token }, c);
  expect(res.statusCode).toBe(200);
  expect(res.body).toBe('');
}

async function introspect(f: Fixture, c: Client, token: string): Promise<Record<string, unknown>> {
  const res = await post(f, '/oauth/introspect', { token }, c);
  expect(res.statusCode).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json<Record<string, unknown>>();
}

/** An access token in our exact shape, but signed by a key of the external IdP. */
function externalToken(f: Fixture, key: CryptoKey, kid: string, iss = IDP): Promise<string> {
  const now = Math.floor(f.now / 1000);
  return new SignJWT({ client_id: 'ext', scope: 'models:read', roles: ['developer'] })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(iss)
    .setSubject('someone')
    .setAudience(f.config.auth.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(key);
}

describe('revocation and introspection', () => {
  let f: Fixture;
  let alice: Client;
  let bob: Client;
  let idpKey: CryptoKey;
  const idpKid = 'idp-key-1';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    idpKey = pair.privateKey;
    const jwks: { keys: JWK[] } = {
      keys: [{ ...(await exportJWK(pair.publicKey)), kid: idpKid, alg: 'ES256', use: 'sig' }],
    };
    const fakeFetch = ((input: string | URL | Request) => {
      const url = input instanceof Request ? input.url : input.toString();
      return Promise.resolve(
        url === `${IDP}/jwks` ? Response.json(jwks) : new Response('not found', { status: 404 }),
      );
    }) as typeof globalThis.fetch;
    f = await startApp({
      config: {
        auth: {
          // Not listening: our issuer (and audience) is the default http://127.0.0.1:8080.
          trustedIssuers: [
            {
              issuer: IDP,
              jwksUri: `${IDP}/jwks`,
              audience: 'http://127.0.0.1:8080',
              algorithms: ['ES256'],
            },
          ],
        },
      },
      overrides: { fetch: fakeFetch },
    });
    alice = await f.client({ roles: ['developer'], allowRefresh: true });
    bob = await f.client({ roles: ['developer'], allowRefresh: true });
  });
  afterAll(async () => {
    await f.close();
  });

  describe('revocation (RFC 7009)', () => {
    it('requires client authentication', async () => {
      const t = await issue(f, alice);
      for (const res of [
        await post(f, '/oauth/revoke', { token: t.access_token }),
        await post(f, '/oauth/revoke', { token: t.access_token }, { ...alice, secret: 'nope' }),
      ]) {
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({
          error: 'invalid_client',
          error_description: expect.any(String) as unknown,
        });
        expect(res.headers['www-authenticate']).toMatch(/^Basic\b/);
      }
      expect(await modelsStatus(f, t.access_token)).toBe(200);
    });

    it('requires the token parameter in a form body', async () => {
      const res = await post(f, '/oauth/revoke', {}, alice);
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: string }>().error).toBe('invalid_request');
      for (const url of ['/oauth/revoke', '/oauth/introspect']) {
        for (const payload of ['{"token":"x"}', '{"token":']) {
          const json = await f.app.http.inject({
            method: 'POST',
            url,
            headers: {
              'content-type': 'application/json',
              authorization: basic(alice.id, alice.secret),
            },
            payload,
          });
          expect(json.statusCode).toBe(400);
          expect(json.json()).toEqual({
            error: 'invalid_request',
            error_description: expect.any(String) as unknown,
          });
        }
      }
    });

    it('revokes an access token at once, even one whose verification is cached', async () => {
      const t = await issue(f, alice);
      expect(await modelsStatus(f, t.access_token)).toBe(200);
      expect((await introspect(f, alice, t.access_token)).active).toBe(true);
      await revoke(f, alice, t.access_token);
      expect(await modelsStatus(f, t.access_token)).toBe(401);
      expect(await introspect(f, alice, t.access_token)).toEqual({ active: false });
      // Revoking again is still fine (RFC 7009 §2.2).
      await revoke(f, alice, t.access_token);
    });

    it('revokes a refresh token together with its whole family', async () => {
      const t0 = await issue(f, alice);
      const res = await refresh(f, alice, t0.refresh_token!);
      expect(res.statusCode).toBe(200);
      const t1 = res.json<TokenBody>();
      expect(await modelsStatus(f, t1.access_token)).toBe(200);
      await revoke(f, alice, t1.refresh_token!);
      const again = await refresh(f, alice, t1.refresh_token!);
      expect(again.statusCode).toBe(400);
      expect(again.json<{ error: string }>().error).toBe('invalid_grant');
      // RFC 7009 §2.1: access tokens of the same grant are invalidated too.
      expect(await modelsStatus(f, t0.access_token)).toBe(401);
      expect(await modelsStatus(f, t1.access_token)).toBe(401);
    });

    it('answers 200 for an unknown or malformed token', async () => {
      await revoke(f, alice, 'ghr_unknown');
      await revoke(f, alice, 'not even a jwt');
      await revoke(f, alice, await externalToken(f, idpKey, idpKid));
    });

    it("does not let a client revoke another client's tokens", async () => {
      const t = await issue(f, alice);
      await revoke(f, bob, t.access_token);
      await revoke(f, bob, t.refresh_token!);
      expect(await modelsStatus(f, t.access_token)).toBe(200);
      expect((await introspect(f, alice, t.access_token)).active).toBe(true);
      const res = await refresh(f, alice, t.refresh_token!);
      expect(res.statusCode).toBe(200);
    });
  });

  describe('introspection (RFC 7662)', () => {
    it('requires client authentication', async () => {
      const t = await issue(f, alice);
      for (const res of [
        await post(f, '/oauth/introspect', { token: t.access_token }),
        await post(f, '/oauth/introspect', { token: t.access_token }, { ...bob, secret: 'x' }),
      ]) {
        expect(res.statusCode).toBe(401);
        expect(res.json<{ error: string }>().error).toBe('invalid_client');
        expect(res.json()).not.toHaveProperty('active');
      }
    });

    it('tells a client about its own tokens only', async () => {
      const t = await issue(f, alice);
      expect(await introspect(f, bob, t.access_token)).toEqual({ active: false });
      expect((await introspect(f, alice, t.access_token)).active).toBe(true);
    });

    it('lets an admin client inspect any token', async () => {
      const t = await issue(f, alice);
      const admin = await f.client({ roles: ['admin'] });
      expect(await introspect(f, admin, t.access_token)).toMatchObject({
        active: true,
        client_id: alice.id,
      });
    });

    it('decides by the clients:admin scope, not by the role name', async () => {
      const t = await issue(f, alice);
      // An admin whose scopes were narrowed at registration holds no clients:admin.
      const narrowed = await f.client({ roles: ['admin'], scopes: ['models:read'] });
      expect(await introspect(f, narrowed, t.access_token)).toEqual({ active: false });
    });

    it('describes an active token', async () => {
      const t = await issue(f, alice);
      const body = await introspect(f, alice, t.access_token);
      expect(body).toMatchObject({
        active: true,
        scope: 'inference:invoke models:read usage:read',
        client_id: alice.id,
        sub: alice.id,
        iss: f.config.auth.issuer,
        token_type: 'Bearer',
      });
      expect(typeof body.iat).toBe('number');
      expect(body.exp).toBe((body.iat as number) + 600);
      expect(body.iat).toBe(Math.floor(f.now / 1000));
    });

    it('says exactly {"active":false} for garbage', async () => {
      for (const token of ['garbage', 'a.b.c', 'ghr_unknown', 'x'.repeat(10_000)]) {
        const res = await post(f, '/oauth/introspect', { token }, alice);
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe('{"active":false}');
      }
    });

    it('says exactly {"active":false} for an expired token', async () => {
      const t = await issue(f, alice);
      expect((await introspect(f, alice, t.access_token)).active).toBe(true);
      const start = f.now;
      try {
        f.now = start + 601_000;
        const res = await post(f, '/oauth/introspect', { token: t.access_token }, alice);
        expect(res.body).toBe('{"active":false}');
      } finally {
        f.now = start;
      }
    });

    it('says exactly {"active":false} for a revoked token', async () => {
      const t = await issue(f, alice);
      await revoke(f, alice, t.access_token);
      const res = await post(f, '/oauth/introspect', { token: t.access_token }, alice);
      expect(res.body).toBe('{"active":false}');
    });

    it('says exactly {"active":false} for a token of another issuer', async () => {
      // Trusted external IdP: the token works on the API, but it is not ours to describe.
      const trusted = await externalToken(f, idpKey, idpKid);
      expect(await modelsStatus(f, trusted)).toBe(200);
      let res = await post(f, '/oauth/introspect', { token: trusted }, alice);
      expect(res.body).toBe('{"active":false}');
      // An issuer nobody trusts.
      const stranger = await externalToken(f, idpKey, idpKid, 'https://evil.example.test');
      res = await post(f, '/oauth/introspect', { token: stranger }, alice);
      expect(res.body).toBe('{"active":false}');
      // Our issuer name, someone else's key.
      const forged = await externalToken(f, idpKey, idpKid, f.config.auth.issuer);
      res = await post(f, '/oauth/introspect', { token: forged }, alice);
      expect(res.body).toBe('{"active":false}');
    });
  });
});
