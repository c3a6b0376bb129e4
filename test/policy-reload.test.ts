/**
 * @module test/policy-reload — a policy change applies at once, over HTTP: to tokens already
 * issued and cached by the verifier, to external-IdP tokens, and to what the token endpoint
 * grants; an invalid edit keeps the last good policy; `GET /v1/policy` shows the one in force.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { builtinPolicyText } from '../src/policy/index.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';
import {
  call,
  POLICY_MODELS,
  RESTRICTED,
  roleToken,
  writePolicy,
} from './support/policy-fixture.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const IDP = 'https://idp.policy.test';
/** developer without inference at all. */
const NO_INFERENCE = builtinPolicyText().replace(
  /(developer:\n {4}scopes:\n) {6}- inference:invoke\n/,
  '$1',
);

let dir: string;
let file: string;
let f: Fixture;
let idpKey: CryptoKey;

async function externalToken(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(f.now / 1000);
  return new SignJWT({ groups: ['developer'], ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' })
    .setIssuer(IDP)
    .setAudience('http://127.0.0.1:8080')
    .setSubject('carol')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(idpKey);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-policy-reload-'));
  file = writePolicy(dir, builtinPolicyText());
  const pair = await generateKeyPair('ES256', { extractable: true });
  idpKey = pair.privateKey;
  const jwks: { keys: JWK[] } = {
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }],
  };
  // The provider's JWKS endpoint: the one network answer these tests need.
  const idpFetch = ((input: string | URL | Request) => {
    const url = input instanceof Request ? input.url : input.toString();
    return Promise.resolve(
      url === `${IDP}/jwks` ? Response.json(jwks) : new Response('not found', { status: 404 }),
    );
  }) as typeof globalThis.fetch;
  f = await startApp({
    config: {
      ...POLICY_MODELS,
      policy: { file },
      auth: {
        trustedIssuers: [
          {
            issuer: IDP,
            jwksUri: `${IDP}/jwks`,
            audience: 'http://127.0.0.1:8080',
            algorithms: ['ES256'],
            rolesClaim: 'groups',
          },
        ],
      },
    },
    overrides: { fetch: idpFetch },
  });
});
afterAll(async () => {
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  // Each test starts from the built-in roles in the file.
  writeFileSync(file, builtinPolicyText());
  f.app.policy.check();
});

/** Writes the policy file and reloads it now (what the watcher does after its debounce). */
function edit(text: string) {
  writeFileSync(file, text);
  return f.app.policy.check();
}

describe('policy reload over HTTP', () => {
  it('applies a valid edit at once to a token already verified and cached', async () => {
    const dev = await roleToken(f, ['developer']);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(200);
    expect(f.app.auth.verifier.cached(dev)).toBeDefined();
    expect(edit(RESTRICTED)).toMatchObject({ ok: true, sha256: sha(RESTRICTED) });
    expect((await call(f, dev, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(403);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(200);
    // A scope the policy no longer grants is gone from the same token too.
    edit(NO_INFERENCE);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(403);
    expect((await call(f, dev, 'GET /v1/models')).statusCode).toBe(200);
  });

  it('reloads an edited file by itself, without a restart', async () => {
    const dev = await roleToken(f, ['developer']);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(200);
    const reloaded = new Promise((resolve) => {
      const off = f.app.policy.onReload((e) => {
        off();
        resolve(e);
      });
    });
    writeFileSync(file, RESTRICTED);
    expect(await reloaded).toMatchObject({ ok: true, sha256: sha(RESTRICTED), source: file });
    expect((await call(f, dev, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(403);
  });

  it('never widens a token: a scope the policy adds is not in tokens issued without it', async () => {
    const narrow = await roleToken(f, ['auditor']);
    edit(builtinPolicyText().replace(/(auditor:\n {4}scopes:\n)/, '$1      - inference:invoke\n'));
    expect((await call(f, narrow, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(403);
  });

  it('keeps the last good policy when an edit is invalid', async () => {
    const dev = await roleToken(f, ['developer']);
    edit(RESTRICTED);
    const event = edit(`${RESTRICTED}    modles: ["*"]\n`);
    expect(event).toMatchObject({ ok: false, previousSha256: sha(RESTRICTED) });
    expect(event?.error).toContain('roles.admin.modles: unknown key');
    expect((await call(f, dev, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(403);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(200);
    const shown = await call(f, await roleToken(f, ['admin']), 'GET /v1/policy');
    expect(shown.json()).toMatchObject({ sha256: sha(RESTRICTED), source: 'file' });
  });

  it('decides external-IdP tokens by the policy in force too', async () => {
    // No scope claim: what the roles grant now. With one: never more than it carries.
    const unscoped = await externalToken({});
    const scoped = await externalToken({ scope: 'models:read' });
    expect((await call(f, unscoped, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(200);
    expect((await call(f, scoped, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(403);
    expect((await call(f, scoped, 'GET /v1/models')).statusCode).toBe(200);
    edit(RESTRICTED);
    expect((await call(f, unscoped, 'POST /v1/chat/completions', 'stories')).statusCode).toBe(403);
    expect((await call(f, unscoped, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(
      200,
    );
    edit(NO_INFERENCE);
    expect((await call(f, unscoped, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(
      403,
    );
    // An external token's roles the policy does not know grant nothing.
    const stranger = await externalToken({ groups: ['root'] });
    expect((await call(f, stranger, 'GET /v1/models')).statusCode).toBe(403);
  });

  it('grants at the token endpoint only what the policy grants the client roles now', async () => {
    const client = await f.client({ roles: ['developer'] });
    edit(NO_INFERENCE);
    const res = await requestToken(f, client);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ scope: string }>().scope.split(' ').sort()).toEqual([
      'models:read',
      'usage:read',
    ]);
    expect(decodeJwt(res.json<{ access_token: string }>().access_token).scope).toBe(
      'models:read usage:read',
    );
    const asked = await requestToken(f, client, { scope: 'inference:invoke' });
    expect(asked.statusCode).toBe(400);
    expect(asked.json()).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('GET /v1/policy and POST /v1/policy/explain', () => {
  const explain = async (token: string, body: unknown) =>
    f.app.http.inject({
      method: 'POST',
      url: '/v1/policy/explain',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it('shows the policy in force and its digest to admins and auditors', async () => {
    edit(RESTRICTED);
    for (const role of ['admin', 'auditor']) {
      const res = await call(f, await roleToken(f, [role]), 'GET /v1/policy');
      expect(res.statusCode).toBe(200);
      const body = res.json<{ policy: { roles: Record<string, { models: string[] }> } }>();
      expect(body).toMatchObject({ object: 'policy', sha256: sha(RESTRICTED), source: 'file' });
      expect(body.policy.roles.developer?.models).toEqual(['use-lite', 'chat-*']);
    }
  });

  it('explains a decision with its reason and the policy digest', async () => {
    edit(RESTRICTED);
    const admin = await roleToken(f, ['admin']);
    const ask = { roles: ['developer'], action: 'inference:invoke' };
    expect((await explain(admin, { ...ask, resource: 'model:chat-large' })).json()).toEqual({
      allowed: true,
      reason: 'allowed: role developer grants inference:invoke on chat-large',
      policy_sha256: sha(RESTRICTED),
    });
    expect((await explain(admin, { ...ask, resource: 'model:stories' })).json()).toEqual({
      allowed: false,
      reason: 'denied: no role grants inference:invoke on stories',
      policy_sha256: sha(RESTRICTED),
    });
    const narrowed = { ...ask, scopes: ['models:read'], resource: 'model:chat-large' };
    expect((await explain(admin, narrowed)).json()).toMatchObject({
      allowed: false,
      reason: 'denied: token lacks scope inference:invoke',
    });
    expect(
      (await explain(admin, { roles: ['auditor', 'admin'], action: 'policy:admin' })).json(),
    ).toMatchObject({ allowed: true, reason: 'allowed: role admin grants policy:admin' });
  });

  const bad: [string, unknown, string][] = [
    ['no roles', { action: 'inference:invoke' }, "Missing required parameter: 'roles'"],
    [
      'an empty role list',
      { roles: [], action: 'models:read' },
      'roles must have at least 1 item (got 0)',
    ],
    [
      'an unknown key',
      { roles: ['admin'], action: 'models:read', extra: 1 },
      "Unrecognized request argument supplied: 'extra'",
    ],
    ['an unknown role', { roles: ['root'], action: 'models:read' }, 'unknown role(s): root'],
    [
      'an unknown scope',
      { roles: ['admin'], scopes: ['all'], action: 'models:read' },
      'unknown scope(s): all',
    ],
    ['an unknown action', { roles: ['admin'], action: 'delete' }, 'unknown action: delete'],
    [
      'a resource of no known kind',
      { roles: ['admin'], action: 'inference:invoke', resource: 'file:/etc/passwd' },
      'resource must be model:<id> or dataset:<name> (letters, digits, . _ : -)',
    ],
    [
      'a resource id outside the charset',
      { roles: ['admin'], action: 'inference:invoke', resource: 'model:a b' },
      'resource must be model:<id> or dataset:<name> (letters, digits, . _ : -)',
    ],
  ];
  it.each(bad)('answers %s with a clear 400', async (_name, body, message) => {
    const res = await explain(await roleToken(f, ['admin']), body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { message, type: 'invalid_request_error' },
    });
  });
});

describe('start-up with an invalid policy file', () => {
  it('refuses to start, naming the key and line', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'gh-policy-bad-'));
    try {
      const path = writePolicy(
        bad,
        'roles:\n  developer:\n    scopes: [inference:invoke]\n    models: ["chat/*"]\n',
      );
      await expect(startApp({ config: { policy: { file: path } } })).rejects.toThrow(
        `${path}:4:14: roles.developer.models[0]: pattern "chat/*" has the character "/"`,
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
