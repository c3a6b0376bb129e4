/**
 * Token endpoint (RFC 6749 §4.4, §5, §6; RFC 7523; RFC 9068; RFC 9700 §4.14) driven through
 * `inject()`: client authentication, grants, errors, token contents, refresh rotation with reuse
 * detection, and private_key_jwt assertions.
 */
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { revokeClient } from '../src/auth/index.js';
import { basic, form, startApp, type Fixture, modelsStatus } from './support/app-fixture.js';

const FORM = 'application/x-www-form-urlencoded';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const UNTHROTTLED = {
  maxFailuresPerClientSource: 10_000,
  maxFailuresPerSource: 10_000,
  maxFailuresPerClient: 10_000,
};

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

type Reply = Awaited<ReturnType<Fixture['app']['http']['inject']>>;

/** POSTs a raw body to the token endpoint. */
function tokenRaw(f: Fixture, payload: string, headers: Record<string, string> = {}) {
  return f.app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': FORM, ...headers },
    payload,
  });
}

/** POSTs form parameters to the token endpoint. */
function token(f: Fixture, params: Record<string, string>, headers: Record<string, string> = {}) {
  return tokenRaw(f, form(params), headers);
}

/** client_credentials with client_secret_basic; returns the parsed 200 body. */
async function issue(f: Fixture, c: { id: string; secret: string }, extra = {}) {
  const res = await token(
    f,
    { grant_type: 'client_credentials', ...extra },
    { authorization: basic(c.id, c.secret) },
  );
  expect(res.statusCode).toBe(200);
  return res.json<TokenBody>();
}

function refresh(f: Fixture, c: { id: string; secret: string }, refreshToken: string) {
  return token(
    f,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    { authorization: basic(c.id, c.secret) },
  );
}

/** Asserts an RFC 6749 §5.2 error: status, exact body shape, no-store. */
function expectOAuthError(res: Reply, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
}

function expectInvalidClient(res: Reply): void {
  expectOAuthError(res, 401, 'invalid_client');
  expect(res.headers['www-authenticate']).toMatch(/^Basic\b/);
}

describe('token endpoint: client_credentials', () => {
  let f: Fixture;
  let dev: { id: string; secret: string };
  beforeAll(async () => {
    f = await startApp();
    dev = await f.client({ roles: ['developer'] });
  });
  afterAll(async () => {
    await f.close();
  });

  it('authenticates with client_secret_basic', async () => {
    const res = await token(
      f,
      { grant_type: 'client_credentials' },
      { authorization: basic(dev.id, dev.secret) },
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<TokenBody>();
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(600);
    expect(body.refresh_token).toBeUndefined();
    expect(await modelsStatus(f, body.access_token)).toBe(200);
  });

  it('authenticates with client_secret_post', async () => {
    const res = await token(f, {
      grant_type: 'client_credentials',
      client_id: dev.id,
      client_secret: dev.secret,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await modelsStatus(f, res.json<TokenBody>().access_token)).toBe(200);
  });

  it('refuses two authentication methods at once with invalid_request', async () => {
    const res = await token(
      f,
      { grant_type: 'client_credentials', client_id: dev.id, client_secret: dev.secret },
      { authorization: basic(dev.id, dev.secret) },
    );
    expectOAuthError(res, 400, 'invalid_request');
  });

  it('answers a wrong secret with 401 invalid_client and a Basic challenge', async () => {
    expectInvalidClient(
      await token(
        f,
        { grant_type: 'client_credentials' },
        { authorization: basic(dev.id, `${dev.secret}x`) },
      ),
    );
    expectInvalidClient(
      await token(f, {
        grant_type: 'client_credentials',
        client_id: dev.id,
        client_secret: 'wrong',
      }),
    );
  });

  it('answers an unknown client with 401 invalid_client', async () => {
    expectInvalidClient(
      await token(
        f,
        { grant_type: 'client_credentials' },
        { authorization: basic('gh_nobody', dev.secret) },
      ),
    );
  });

  it('answers no client authentication at all with 401 invalid_client', async () => {
    expectInvalidClient(await token(f, { grant_type: 'client_credentials', client_id: dev.id }));
  });

  it('answers a revoked client with 401 invalid_client', async () => {
    const c = await f.client();
    await issue(f, c);
    await revokeClient(f.app.store, () => f.now, c.id);
    expectInvalidClient(
      await token(
        f,
        { grant_type: 'client_credentials' },
        { authorization: basic(c.id, c.secret) },
      ),
    );
  });

  it('requires grant_type', async () => {
    expectOAuthError(
      await token(f, {}, { authorization: basic(dev.id, dev.secret) }),
      400,
      'invalid_request',
    );
  });

  it('answers an unknown grant with unsupported_grant_type', async () => {
    expectOAuthError(
      await token(f, { grant_type: 'password' }, { authorization: basic(dev.id, dev.secret) }),
      400,
      'unsupported_grant_type',
    );
  });

  it('refuses a repeated parameter with invalid_request', async () => {
    const auth = { authorization: basic(dev.id, dev.secret) };
    expectOAuthError(
      await tokenRaw(
        f,
        'grant_type=client_credentials&scope=models%3Aread&scope=usage%3Aread',
        auth,
      ),
      400,
      'invalid_request',
    );
    expectOAuthError(
      await tokenRaw(f, 'grant_type=client_credentials&grant_type=client_credentials', auth),
      400,
      'invalid_request',
    );
  });

  it('refuses a JSON body with invalid_request, well-formed or not', async () => {
    const headers = {
      authorization: basic(dev.id, dev.secret),
      'content-type': 'application/json',
    };
    expectOAuthError(
      await tokenRaw(f, JSON.stringify({ grant_type: 'client_credentials' }), headers),
      400,
      'invalid_request',
    );
    expectOAuthError(await tokenRaw(f, '{"grant_type":', headers), 400, 'invalid_request');
  });

  it('refuses other media types and oversized bodies in RFC 6749 form', async () => {
    const auth = { authorization: basic(dev.id, dev.secret) };
    expectOAuthError(
      await tokenRaw(f, '<grant_type/>', { ...auth, 'content-type': 'application/xml' }),
      400,
      'invalid_request',
    );
    expectOAuthError(
      await tokenRaw(f, `grant_type=client_credentials&pad=${'a'.repeat(70_000)}`, auth),
      400,
      'invalid_request',
    );
  });

  it('narrows to a requested subset of the client scopes', async () => {
    const body = await issue(f, dev, { scope: 'models:read' });
    expect(body.scope).toBe('models:read');
    expect(decodeJwt(body.access_token).scope).toBe('models:read');
    expect(await modelsStatus(f, body.access_token)).toBe(200);
    const narrow = await issue(f, dev, { scope: 'usage:read' });
    // The token works, but not for a route needing a scope it was not given.
    expect(await modelsStatus(f, narrow.access_token)).toBe(403);
  });

  it('refuses a scope the client lacks with invalid_scope', async () => {
    const auth = { authorization: basic(dev.id, dev.secret) };
    expectOAuthError(
      await token(f, { grant_type: 'client_credentials', scope: 'models:read audit:read' }, auth),
      400,
      'invalid_scope',
    );
    expectOAuthError(
      await token(f, { grant_type: 'client_credentials', scope: 'clients:admin' }, auth),
      400,
      'invalid_scope',
    );
  });

  it('refuses a malformed scope with invalid_scope', async () => {
    const auth = { authorization: basic(dev.id, dev.secret) };
    for (const scope of ['models:read  usage:read', 'models:"read', 'models:read\\', ' ', 'ü']) {
      expectOAuthError(
        await token(f, { grant_type: 'client_credentials', scope }, auth),
        400,
        'invalid_scope',
      );
    }
  });

  it('issues an RFC 9068 access token with exactly the profile claims', async () => {
    const body = await issue(f, dev);
    const header = decodeProtectedHeader(body.access_token);
    const jwks = (await f.app.http.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{
      keys: JWK[];
    }>();
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe('ES256');
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ']);

    const claims = decodeJwt(body.access_token);
    expect(Object.keys(claims).sort()).toEqual(
      ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'roles', 'scope', 'sub'].sort(),
    );
    expect(claims.iss).toBe(f.config.auth.issuer);
    expect(claims.aud).toBe(f.config.auth.audience);
    expect(claims.sub).toBe(dev.id);
    expect(claims.client_id).toBe(dev.id);
    expect(claims.scope).toBe('inference:invoke models:read usage:read');
    expect(claims.roles).toEqual(['developer']);
    expect(claims.iat).toBe(Math.floor(f.now / 1000));
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(body.expires_in).toBe(600);
    expect(typeof claims.jti).toBe('string');
    expect(decodeJwt((await issue(f, dev)).access_token).jti).not.toBe(claims.jti);
  });
});

describe('token endpoint: refresh_token grant', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApp();
  });
  afterAll(async () => {
    await f.close();
  });

  it('gives refresh tokens only to clients created with allowRefresh', async () => {
    const plain = await f.client();
    expect((await issue(f, plain)).refresh_token).toBeUndefined();
    const r = await f.client({ allowRefresh: true });
    const first = await issue(f, r);
    expect(first.refresh_token).toMatch(/^ghr_/);
    // A client without the permission may not redeem one, even one that exists.
    expectOAuthError(await refresh(f, plain, first.refresh_token!), 400, 'unauthorized_client');
    expect((await refresh(f, r, first.refresh_token!)).statusCode).toBe(200);
  });

  it('requires the refresh_token parameter', async () => {
    const r = await f.client({ allowRefresh: true });
    expectOAuthError(
      await token(f, { grant_type: 'refresh_token' }, { authorization: basic(r.id, r.secret) }),
      400,
      'invalid_request',
    );
  });

  it('rotates on every use: a new token each time, the old one no longer works', async () => {
    const r = await f.client({ allowRefresh: true });
    const first = await issue(f, r);
    const res1 = await refresh(f, r, first.refresh_token!);
    expect(res1.statusCode).toBe(200);
    expect(res1.headers['cache-control']).toBe('no-store');
    const second = res1.json<TokenBody>();
    expect(second.refresh_token).toMatch(/^ghr_/);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe(first.scope);
    expect(await modelsStatus(f, second.access_token)).toBe(200);

    const res2 = await refresh(f, r, second.refresh_token!);
    expect(res2.statusCode).toBe(200);
    const third = res2.json<TokenBody>();
    expect(third.refresh_token).not.toBe(second.refresh_token);
    expectOAuthError(await refresh(f, r, second.refresh_token!), 400, 'invalid_grant');
  });

  it('revokes the whole family when an old refresh token is reused', async () => {
    const r = await f.client({ allowRefresh: true });
    const t0 = await issue(f, r);
    const t1 = (await refresh(f, r, t0.refresh_token!)).json<TokenBody>();
    const t2 = (await refresh(f, r, t1.refresh_token!)).json<TokenBody>();
    // Cache the newest access token's verification before the family dies.
    expect(await modelsStatus(f, t2.access_token)).toBe(200);

    expectOAuthError(await refresh(f, r, t0.refresh_token!), 400, 'invalid_grant');
    expectOAuthError(await refresh(f, r, t2.refresh_token!), 400, 'invalid_grant');
    for (const t of [t0, t1, t2]) expect(await modelsStatus(f, t.access_token)).toBe(401);
    // Another family of the same client is untouched.
    const other = await issue(f, r);
    expect(await modelsStatus(f, other.access_token)).toBe(200);
    expect((await refresh(f, r, other.refresh_token!)).statusCode).toBe(200);
  });

  /** Two refreshes with the same token at once: one 200, one invalid_grant, family dead. */
  async function raceTwoRefreshes(beforeRace = (): void => undefined): Promise<void> {
    const r = await f.client({ allowRefresh: true });
    const t0 = await issue(f, r);
    beforeRace();
    const results = await Promise.all([
      refresh(f, r, t0.refresh_token!),
      refresh(f, r, t0.refresh_token!),
    ]);
    const codes = results.map((x) => x.statusCode).sort();
    expect(codes).toEqual([200, 400]);
    const winner = results.find((x) => x.statusCode === 200)!.json<TokenBody>();
    expectOAuthError(
      results.find((x) => x.statusCode === 400)!,
      400,
      'invalid_grant',
    );
    // The losing request was a reuse, so the whole family is revoked, the winner's tokens too.
    expectOAuthError(await refresh(f, r, winner.refresh_token!), 400, 'invalid_grant');
    expect(await modelsStatus(f, winner.access_token)).toBe(401);
    expect(await modelsStatus(f, t0.access_token)).toBe(401);
  }

  it('lets exactly one of two concurrent refreshes win; the family then dies', async () => {
    await raceTwoRefreshes();
  });

  it('kills the winner of a race even when the reuse revokes the family before it stores', async () => {
    // Force the interleaving that the race above hits only sometimes: the winner's new refresh
    // token reaches the store only after the loser has revoked the family.
    const refreshStore = f.app.store.refresh;
    const insert = refreshStore.insert.bind(refreshStore);
    const revokeFamily = refreshStore.revokeFamily.bind(refreshStore);
    let familyRevoked = (): void => undefined;
    const revoked = new Promise<void>((resolve) => {
      familyRevoked = resolve;
    });
    vi.spyOn(refreshStore, 'revokeFamily').mockImplementation(async (familyId, now) => {
      const out = await revokeFamily(familyId, now);
      familyRevoked();
      return out;
    });
    let held: { mock: { calls: unknown[] } } | undefined;
    try {
      await raceTwoRefreshes(() => {
        held = vi.spyOn(refreshStore, 'insert').mockImplementationOnce(async (record) => {
          await Promise.race([revoked, new Promise((resolve) => setTimeout(resolve, 2000))]);
          await insert(record);
        });
      });
      expect(held?.mock.calls).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("treats another client's refresh token as stolen: invalid_grant, family revoked", async () => {
    const owner = await f.client({ allowRefresh: true });
    const thief = await f.client({ allowRefresh: true });
    const t0 = await issue(f, owner);
    expectOAuthError(await refresh(f, thief, t0.refresh_token!), 400, 'invalid_grant');
    expectOAuthError(await refresh(f, owner, t0.refresh_token!), 400, 'invalid_grant');
    expect(await modelsStatus(f, t0.access_token)).toBe(401);
  });

  it('refuses an expired refresh token with invalid_grant', async () => {
    const r = await f.client({ allowRefresh: true });
    const t0 = await issue(f, r);
    const start = f.now;
    try {
      f.now = start + (f.config.auth.refreshTokenTtl + 1) * 1000;
      expectOAuthError(await refresh(f, r, t0.refresh_token!), 400, 'invalid_grant');
    } finally {
      f.now = start;
    }
  });

  it('refuses a made-up refresh token with invalid_grant', async () => {
    const r = await f.client({ allowRefresh: true });
    expectOAuthError(await refresh(f, r, 'ghr_not-a-real-token'), 400, 'invalid_grant');
  });

  it('narrows scope on refresh, never beyond the original grant (RFC 6749 §6)', async () => {
    const r = await f.client({ allowRefresh: true });
    const t0 = await issue(f, r, { scope: 'models:read usage:read' });
    const auth = { authorization: basic(r.id, r.secret) };
    const ask = (refreshToken: string, scope: string) =>
      token(f, { grant_type: 'refresh_token', refresh_token: refreshToken, scope }, auth);
    // The client holds inference:invoke, but this grant never included it.
    expectOAuthError(await ask(t0.refresh_token!, 'inference:invoke'), 400, 'invalid_scope');
    expectOAuthError(await ask(t0.refresh_token!, 'models:read  usage:read'), 400, 'invalid_scope');
    // A refused request does not burn the refresh token (nor look like reuse on the retry).
    const res = await ask(t0.refresh_token!, 'models:read');
    expect(res.statusCode).toBe(200);
    const t1 = res.json<TokenBody>();
    expect(t1.scope).toBe('models:read');
    expect(decodeJwt(t1.access_token).scope).toBe('models:read');
    expect(await modelsStatus(f, t0.access_token)).toBe(200);
  });
});

describe('token endpoint: private_key_jwt (RFC 7523)', () => {
  let f: Fixture;
  let key: CryptoKey;
  let client: { id: string };
  beforeAll(async () => {
    // These cases fail on purpose, many times over, from one address; throttling of failures
    // has its own tests (oauth-brute-force.test.ts).
    f = await startApp({ config: { auth: { clientAuth: UNTHROTTLED } } });
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    const publicJwk = await exportJWK(pair.publicKey);
    client = await f.client({ jwks: [publicJwk] });
  });
  afterAll(async () => {
    await f.close();
  });

  interface AssertionOptions {
    aud?: string;
    exp?: number;
    jti?: string;
    signWith?: CryptoKey;
  }

  function assertion(o: AssertionOptions = {}): Promise<string> {
    const now = Math.floor(f.now / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(client.id)
      .setSubject(client.id)
      .setAudience(o.aud ?? f.config.auth.issuer)
      .setIssuedAt(now)
      .setExpirationTime(o.exp ?? now + 60)
      .setJti(o.jti ?? randomUUID())
      .sign(o.signWith ?? key);
  }

  function withAssertion(jwt: string) {
    return token(f, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: jwt,
    });
  }

  it('accepts a signed assertion with aud = issuer', async () => {
    const res = await withAssertion(await assertion());
    expect(res.statusCode).toBe(200);
    const body = res.json<TokenBody>();
    expect(decodeJwt(body.access_token).client_id).toBe(client.id);
    expect(await modelsStatus(f, body.access_token)).toBe(200);
  });

  it('accepts client_id alongside the assertion when it matches', async () => {
    const res = await token(f, {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect(res.statusCode).toBe(200);
  });

  it('refuses aud = token endpoint URL (only the issuer identifier is accepted)', async () => {
    expectInvalidClient(
      await withAssertion(await assertion({ aud: `${f.config.auth.issuer}/oauth/token` })),
    );
  });

  it('refuses a replayed assertion', async () => {
    const jwt = await assertion();
    expect((await withAssertion(jwt)).statusCode).toBe(200);
    expectInvalidClient(await withAssertion(jwt));
  });

  it('refuses a replay even after exp, while the clock tolerance still accepts it', async () => {
    const now = Math.floor(f.now / 1000);
    const jwt = await assertion({ exp: now + 30 });
    expect((await withAssertion(jwt)).statusCode).toBe(200);
    const start = f.now;
    try {
      f.now = start + 45_000; // 15 s after exp
      expectInvalidClient(await withAssertion(jwt));
    } finally {
      f.now = start;
    }
  });

  it('refuses an assertion signed by another key', async () => {
    const other = await generateKeyPair('ES256');
    expectInvalidClient(await withAssertion(await assertion({ signWith: other.privateKey })));
  });

  it('refuses alg none and HS256 assertions', async () => {
    const now = Math.floor(f.now / 1000);
    const claims = {
      iss: client.id,
      sub: client.id,
      aud: f.config.auth.issuer,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    expectInvalidClient(await withAssertion(`${b64({ alg: 'none' })}.${b64(claims)}.`));
    const hs = await new SignJWT({ ...claims, jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
    expectInvalidClient(await withAssertion(hs));
  });

  it('refuses an expired assertion', async () => {
    const now = Math.floor(f.now / 1000);
    expectInvalidClient(await withAssertion(await assertion({ exp: now - 120 })));
  });

  it('refuses an assertion whose lifetime is too long', async () => {
    const now = Math.floor(f.now / 1000);
    expectInvalidClient(await withAssertion(await assertion({ exp: now + 3600 })));
  });

  it('refuses a secret for a private_key_jwt client', async () => {
    expectInvalidClient(
      await token(
        f,
        { grant_type: 'client_credentials' },
        { authorization: basic(client.id, 'anything') },
      ),
    );
  });
});
