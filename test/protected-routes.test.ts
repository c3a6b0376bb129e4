/**
 * @module test/protected-routes — the protected-route pipeline over HTTP (inject): RFC 6750
 * token extraction and challenges, RFC 7235 case-insensitive scheme, scope checks, the OpenAI
 * error shape on /v1/*, and that no token ever reaches a response or a log line.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/lib/logger.js';
import { scopesForRoles } from '../src/policy/index.js';
import { basic, form, requestToken, startApp, type Fixture } from './support/app-fixture.js';

interface OpenAiError {
  error: { message: string; type: string; param: unknown; code: string };
}

async function tokenFor(
  f: Fixture,
  client: Parameters<Fixture['client']>[0] = {},
): Promise<string> {
  const { id, secret } = await f.client(client);
  const res = await requestToken(f, { id, secret });
  expect(res.statusCode).toBe(200);
  return res.json<{ access_token: string }>().access_token;
}

function getModels(f: Fixture, authorization?: string, query = '') {
  return f.app.http.inject({
    method: 'GET',
    url: `/v1/models${query}`,
    headers: authorization === undefined ? {} : { authorization },
  });
}

/** A well-formed, correctly signed at+jwt from a key the server does not know. */
async function foreignToken(f: Fixture, kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  const now = Math.floor(f.now / 1000);
  return new SignJWT({ client_id: 'x', scope: 'models:read', roles: ['developer'] })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(f.config.auth.issuer)
    .setAudience(f.config.auth.audience)
    .setSubject('intruder')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(privateKey);
}

describe('protected routes (RFC 6750)', () => {
  let f: Fixture;
  let valid: string;

  beforeAll(async () => {
    f = await startApp();
    valid = await tokenFor(f, { roles: ['developer'] });
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers a request without credentials with 401 and a bare Bearer challenge', async () => {
    const res = await getModels(f);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  it('accepts a valid token', async () => {
    const res = await getModels(f, `Bearer ${valid}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ object: 'list', data: [] });
  });

  const garbage: [string, (f: Fixture) => Promise<string> | string, string][] = [
    ['an opaque string', () => 'SECRETgarbageTOKEN0123456789', 'malformed'],
    ['a JWT with a forged signature', (f) => foreignToken(f, 'kid-SECRET-1'), 'unknown_key'],
    [
      'an unsigned (alg none) JWT',
      (f) => {
        const seg = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const now = Math.floor(f.now / 1000);
        return `${seg({ alg: 'none', typ: 'at+jwt', kid: 'k' })}.${seg({
          iss: f.config.auth.issuer,
          aud: f.config.auth.audience,
          sub: 'SECRETsubject',
          iat: now,
          exp: now + 60,
        })}.`;
      },
      'alg_not_allowed',
    ],
  ];
  it.each(garbage)(
    'refuses %s with 401 invalid_token and a generic description that leaks nothing',
    async (_name, make, reason) => {
      const token = await make(f);
      const res = await getModels(f, `Bearer ${token}`);
      expect(res.statusCode).toBe(401);
      const challenge = res.headers['www-authenticate'];
      expect(challenge).toBe(
        'Bearer realm="gatehouse", error="invalid_token", error_description="The access token is invalid"',
      );
      const body = res.json<OpenAiError>();
      expect(body).toEqual({
        error: {
          message: 'The access token is invalid',
          type: 'authentication_error',
          param: null,
          code: 'invalid_token',
        },
      });
      for (const text of [res.body, String(challenge)]) {
        expect(text).not.toContain(token);
        expect(text).not.toContain('SECRET');
        expect(text).not.toContain(reason);
      }
    },
  );

  it.each(['bearer', 'BEARER', 'BeArEr', 'Bearer'])(
    'matches the scheme case-insensitively (%s)',
    async (scheme) => {
      const res = await getModels(f, `${scheme} ${valid}`);
      expect(res.statusCode).toBe(200);
    },
  );

  it.each([['Bearer'], ['Bearer '], ['Bearer  two spaces'], ['Bearer a b'], ['Bearer tok,en']])(
    'refuses the malformed header %j with 400 invalid_request',
    async (header) => {
      const res = await getModels(f, header);
      expect(res.statusCode).toBe(400);
      expect(res.headers['www-authenticate']).toMatch(
        /^Bearer realm="gatehouse", error="invalid_request"/,
      );
      expect(res.json<OpenAiError>()).toEqual({
        error: {
          message: expect.any(String) as string,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_request',
        },
      });
    },
  );

  it.each([['Basic xxx'], ['Token x']])(
    'treats another scheme (%j) as no credentials: 401 with a bare challenge (RFC 6750 §3.1)',
    async (header) => {
      const res = await getModels(f, header);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    },
  );

  it('refuses a token sent both in the header and in the query with 400', async () => {
    const res = await getModels(f, `Bearer ${valid}`, `?access_token=${valid}`);
    expect(res.statusCode).toBe(400);
    expect(res.json<OpenAiError>().error.code).toBe('invalid_request');
    expect(res.body).not.toContain(valid);
  });

  it('never accepts a (valid) token from the query alone', async () => {
    const res = await getModels(f, undefined, `?access_token=${valid}`);
    expect(res.statusCode).toBe(400);
    expect(res.json<OpenAiError>().error.code).toBe('invalid_request');
    expect(res.body).not.toContain(valid);
  });

  it('answers a token without models:read with 403 insufficient_scope naming the scope', async () => {
    const narrow = await tokenFor(f, { roles: ['developer'], scopes: ['inference:invoke'] });
    const res = await getModels(f, `Bearer ${narrow}`);
    expect(res.statusCode).toBe(403);
    const challenge = res.headers['www-authenticate'];
    expect(challenge).toMatch(/^Bearer realm="gatehouse", /);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="models:read"');
    expect(res.json<OpenAiError>()).toEqual({
      error: {
        message: expect.any(String) as string,
        type: 'permission_error',
        param: null,
        code: 'insufficient_scope',
      },
    });
  });

  it('lets an auditor token minted by gatehouse list models', async () => {
    const roles = ['auditor'];
    const { token } = await f.app.auth.issuer.issue({
      subject: 'local:auditor',
      clientId: 'gatehouse-cli',
      scopes: [...scopesForRoles(roles)],
      roles,
      ttl: 600,
    });
    expect(scopesForRoles(roles).has('inference:invoke')).toBe(false);
    const res = await getModels(f, `Bearer ${token}`);
    expect(res.statusCode).toBe(200);
  });

  it('lets an auditor client list models', async () => {
    const token = await tokenFor(f, { roles: ['auditor'] });
    expect((await getModels(f, `Bearer ${token}`)).statusCode).toBe(200);
  });

  it('refuses an expired token, whether or not it was verified before', async () => {
    const used = await tokenFor(f);
    const unused = await tokenFor(f);
    expect((await getModels(f, `Bearer ${used}`)).statusCode).toBe(200);
    const saved = f.now;
    try {
      f.now = saved + (f.config.auth.accessTokenTtl + 1) * 1000;
      for (const t of [used, unused]) {
        const res = await getModels(f, `Bearer ${t}`);
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
      // One second before expiry the same token still works.
      f.now = saved + (f.config.auth.accessTokenTtl - 1) * 1000;
      expect((await getModels(f, `Bearer ${unused}`)).statusCode).toBe(200);
    } finally {
      f.now = saved;
    }
  });

  it('refuses 20 tokens with random kids without touching the store or the network', async () => {
    // Everything a request could reach in the store (the background revocation sync aside).
    type Methods = Record<string, (...a: unknown[]) => unknown>;
    const store = f.app.store as unknown as Record<string, Methods>;
    const targets: [Methods, string][] = [
      ...['clients', 'refresh', 'replay'].flatMap((area) =>
        Object.keys(store[area]!).map((m): [Methods, string] => [store[area]!, m]),
      ),
      [store.revocations!, 'add'],
    ];
    const spies = targets.map(([methods, m]) => vi.spyOn(methods, m));
    expect(spies.length).toBeGreaterThan(3);
    try {
      for (let i = 0; i < 20; i++) {
        const res = await getModels(f, `Bearer ${await foreignToken(f, randomUUID())}`);
        expect(res.statusCode).toBe(401);
      }
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('protected routes with external fetch counted', () => {
  let f: Fixture;
  let fetches = 0;
  beforeAll(async () => {
    f = await startApp({
      overrides: {
        fetch: () => {
          fetches++;
          return Promise.reject(new Error('no network in tests'));
        },
      },
    });
  });
  afterAll(async () => {
    await f.close();
  });

  it('does no network access for unknown kids of its own issuer', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await getModels(f, `Bearer ${await foreignToken(f, randomUUID())}`);
      expect(res.statusCode).toBe(401);
    }
    expect(fetches).toBe(0);
  });
});

describe('logging', () => {
  let f: Fixture;
  const chunks: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    f = await startApp({ overrides: { logger: createLogger('debug', sink) } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('logs why a DPoP proof was refused at debug, never the proof', async () => {
    const c = await f.client();
    const res = await f.app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: basic(c.id, c.secret),
        'content-type': 'application/x-www-form-urlencoded',
        dpop: 'DPOPSECRETproof.eyJ4IjoxfQ.c2ln',
      },
      payload: form({ grant_type: 'client_credentials' }),
    });
    expect(res.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    const line = chunks
      .join('')
      .split('\n')
      .find((l) => l.includes('DPoP proof refused'));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 20, reason: 'malformed header' });
    expect(chunks.join('')).not.toContain('DPOPSECRET');
  });

  it('never writes a token, from the header or the query, to the log', async () => {
    const headerToken = 'HEADERSECRETtoken.eyJub3QiOiJyZWFsIn0.c2lnbmF0dXJl';
    const proof = 'DPOPSECRETproof.eyJ4IjoxfQ.c2ln';
    const r1 = await f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${headerToken}`, dpop: proof },
    });
    expect(r1.statusCode).toBe(401);
    const r2 = await getModels(f, undefined, '?access_token=QUERYSECRET');
    expect(r2.statusCode).toBe(400);
    const r3 = await getModels(f, `DPoP ${headerToken}`, '?access_token=QUERYSECRET2');
    expect(r3.statusCode).toBe(400);
    const log = chunks.join('');
    // The log did record these requests (so the assertions below are about real output).
    expect(log).toContain('/v1/models');
    expect(log).toContain('token rejected');
    for (const secret of ['HEADERSECRET', 'DPOPSECRET', 'QUERYSECRET', 'access_token=']) {
      expect(log).not.toContain(secret);
    }
  });
});
