/**
 * Interoperability over a real socket with independent, standards-following clients: openid-client
 * (discovery, client_credentials, refresh), oauth4webapi (RFC 8414 / RFC 9728 discovery, RFC 9068
 * access-token validation) and jose (remote JWKS), plus signing-key rotation as they see it.
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type Fixture } from './support/app-fixture.js';

interface Creds {
  id: string;
  secret: string;
}

// The test server speaks plain HTTP on 127.0.0.1; both libraries refuse that unless told to (and
// mark the switch deprecated so production code stands out).
// eslint-disable-next-line @typescript-eslint/no-deprecated
const insecure = { [oauth.allowInsecureRequests]: true } as const;
// eslint-disable-next-line @typescript-eslint/no-deprecated
const plainHttp = [client.allowInsecureRequests];

function discover(f: Fixture, c: Creds, auth?: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(new URL(f.base), c.id, c.secret, auth, { execute: plainHttp });
}

async function models(f: Fixture, accessToken: string): Promise<number> {
  const res = await fetch(`${f.base}/v1/models`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await res.body?.cancel();
  return res.status;
}

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('interop with independent clients', () => {
  let f: Fixture;
  let dev: Creds;
  let refresher: Creds;
  let keyClient: { id: string; key: CryptoKey };
  beforeAll(async () => {
    f = await startApp({ listen: true, realClock: true });
    dev = await f.client({ roles: ['developer'] });
    refresher = await f.client({ roles: ['developer'], allowRefresh: true });
    const pair = await generateKeyPair('ES256');
    const { id } = await f.client({ jwks: [await exportJWK(pair.publicKey)] });
    keyClient = { id, key: pair.privateKey };
  });
  afterAll(async () => {
    await f.close();
  });

  it('listens on the issuer URL', () => {
    expect(f.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(f.config.auth.issuer).toBe(f.base);
  });

  describe('discovery documents', () => {
    it('serves the same RFC 8414 metadata as oauth-authorization-server and openid-configuration', async () => {
      const as = await getJson(`${f.base}/.well-known/oauth-authorization-server`);
      const oidc = await getJson(`${f.base}/.well-known/openid-configuration`);
      expect(as.status).toBe(200);
      expect(as.headers.get('content-type')).toMatch(/^application\/json/);
      expect(oidc.body).toEqual(as.body);
      expect(as.body).toMatchObject({
        issuer: f.base,
        token_endpoint: `${f.base}/oauth/token`,
        jwks_uri: `${f.base}/.well-known/jwks.json`,
        revocation_endpoint: `${f.base}/oauth/revoke`,
        introspection_endpoint: `${f.base}/oauth/introspect`,
        grant_types_supported: ['client_credentials', 'refresh_token'],
        response_types_supported: [],
      });
      const meta = as.body as Record<string, string[]>;
      for (const key of [
        'token_endpoint_auth_methods_supported',
        'revocation_endpoint_auth_methods_supported',
        'introspection_endpoint_auth_methods_supported',
      ]) {
        expect([...(meta[key] ?? [])].sort()).toEqual([
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ]);
      }
      expect(meta.scopes_supported).toContain('models:read');
      // What the advertised JWKS really serves is what we sign with.
      expect(meta.access_token_signing_alg_values_supported).toContain('ES256');
    });

    it('serves RFC 9728 protected-resource metadata naming our audience and issuer', async () => {
      const res = await getJson(`${f.base}/.well-known/oauth-protected-resource`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        resource: f.config.auth.audience,
        authorization_servers: [f.config.auth.issuer],
        jwks_uri: `${f.base}/.well-known/jwks.json`,
        bearer_methods_supported: ['header'],
      });
      // oauth4webapi checks `resource` against the URL the document was fetched for.
      const response = await oauth.resourceDiscoveryRequest(new URL(f.base), insecure);
      const rs = await oauth.processResourceDiscoveryResponse(new URL(f.base), response);
      expect(rs.authorization_servers).toEqual([f.base]);
    });

    it('serves a public JWK Set with kid, alg and use on every key', async () => {
      const res = await getJson(`${f.base}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
      const { keys } = res.body as { keys: JWK[] };
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
        expect(typeof k.kid).toBe('string');
        expect(k).not.toHaveProperty('d');
      }
    });
  });

  describe('openid-client', () => {
    it('discovers the server and runs client_credentials (client_secret_post)', async () => {
      const config = await discover(f, dev);
      expect(config.serverMetadata().issuer).toBe(f.base);
      expect(config.serverMetadata().token_endpoint).toBe(`${f.base}/oauth/token`);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'models:read' });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('models:read');
      expect(tokens.expires_in).toBe(600);
      expect(tokens.refresh_token).toBeUndefined();
      expect(await models(f, tokens.access_token)).toBe(200);
    });

    it('runs client_credentials with client_secret_basic', async () => {
      const config = await discover(f, dev, client.ClientSecretBasic(dev.secret));
      const tokens = await client.clientCredentialsGrant(config);
      expect(await models(f, tokens.access_token)).toBe(200);
    });

    it('authenticates with private_key_jwt (assertion aud = issuer, as RFC 7523bis has it)', async () => {
      const config = await client.discovery(
        new URL(f.base),
        keyClient.id,
        undefined,
        client.PrivateKeyJwt(keyClient.key),
        { execute: plainHttp },
      );
      // Two grants in the same second: each assertion has its own jti, neither is a replay.
      const a = await client.clientCredentialsGrant(config);
      const b = await client.clientCredentialsGrant(config);
      expect(await models(f, a.access_token)).toBe(200);
      expect(await models(f, b.access_token)).toBe(200);
    });

    it('authenticates with an Ed25519 private_key_jwt key, an alg the metadata advertises', async () => {
      const pair = await generateKeyPair('Ed25519');
      const { id } = await f.client({ jwks: [await exportJWK(pair.publicKey)] });
      const config = await client.discovery(
        new URL(f.base),
        id,
        undefined,
        client.PrivateKeyJwt(pair.privateKey),
        { execute: plainHttp },
      );
      const tokens = await client.clientCredentialsGrant(config);
      expect(await models(f, tokens.access_token)).toBe(200);
      // oauth4webapi names the algorithm by its fully-specified name (RFC 9864).
      expect(config.serverMetadata().token_endpoint_auth_signing_alg_values_supported).toContain(
        'Ed25519',
      );
    });

    it('surfaces our RFC 6749 errors as ResponseBodyError', async () => {
      const config = await discover(f, dev);
      const err: unknown = await client
        .clientCredentialsGrant(config, { scope: 'audit:read' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(client.ResponseBodyError);
      expect((err as client.ResponseBodyError).error).toBe('invalid_scope');
      expect((err as client.ResponseBodyError).status).toBe(400);
    });

    it('refreshes with rotation; the replayed token is refused with invalid_grant', async () => {
      const config = await discover(f, refresher);
      const first = await client.clientCredentialsGrant(config);
      expect(first.refresh_token).toBeDefined();
      const second = await client.refreshTokenGrant(config, first.refresh_token!);
      expect(second.refresh_token).toBeDefined();
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(await models(f, second.access_token)).toBe(200);
      const err: unknown = await client
        .refreshTokenGrant(config, first.refresh_token!)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(client.ResponseBodyError);
      expect((err as client.ResponseBodyError).error).toBe('invalid_grant');
      // The reuse revoked the family: the newest tokens are dead too.
      expect(await models(f, second.access_token)).toBe(401);
    });
  });

  describe('oauth4webapi', () => {
    it('discovers the AS and validates our access token as an RFC 9068 JWT', async () => {
      const issuer = new URL(f.base);
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }),
      );
      expect(as.issuer).toBe(f.base);
      const tokens = await client.clientCredentialsGrant(await discover(f, dev));
      const request = new Request(`${f.base}/v1/models`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      const claims = await oauth.validateJwtAccessToken(
        as,
        request,
        f.config.auth.audience,
        insecure,
      );
      expect(claims.client_id).toBe(dev.id);
      expect(claims.sub).toBe(dev.id);
      expect(claims.iss).toBe(f.base);
      // The same validator refuses it for another audience.
      await expect(
        oauth.validateJwtAccessToken(as, request, 'https://other.example', insecure),
      ).rejects.toThrow();
    });
  });

  describe('jose', () => {
    it('verifies our tokens through the remote JWKS with strict iss, aud and typ', async () => {
      const meta = (await getJson(`${f.base}/.well-known/openid-configuration`)).body as {
        jwks_uri: string;
      };
      const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
      const tokens = await client.clientCredentialsGrant(await discover(f, dev));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer: f.config.auth.issuer,
        audience: f.config.auth.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload.client_id).toBe(dev.id);
      await expect(
        jwtVerify(tokens.access_token, jwks, { issuer: 'https://someone-else.example' }),
      ).rejects.toThrow();
    });
  });
});

describe('signing-key rotation seen over the socket', () => {
  let f: Fixture;
  let dev: Creds;
  beforeAll(async () => {
    f = await startApp({ listen: true, realClock: true });
    dev = await f.client({ roles: ['developer'] });
  });
  afterAll(async () => {
    await f.close();
  });

  it('keeps old tokens valid, signs new ones with the new kid, publishes both keys', async () => {
    const config = await discover(f, dev);
    // A long-lived verifier, created before the rotation; no cooldown so a kid miss refetches.
    const jwks = createRemoteJWKSet(new URL(`${f.base}/.well-known/jwks.json`), {
      cooldownDuration: 0,
    });
    const verify = (t: string) =>
      jwtVerify(t, jwks, {
        issuer: f.config.auth.issuer,
        audience: f.config.auth.audience,
        typ: 'at+jwt',
      });
    const before = await client.clientCredentialsGrant(config);
    const unused = await client.clientCredentialsGrant(config); // never verified before rotation
    await verify(before.access_token);
    expect(await models(f, before.access_token)).toBe(200);
    const oldKid = decodeProtectedHeader(before.access_token).kid;

    const newKid = await f.app.auth.keys.rotate();
    expect(newKid).not.toBe(oldKid);

    const { keys } = (await getJson(`${f.base}/.well-known/jwks.json`)).body as { keys: JWK[] };
    expect(keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());

    // Old tokens: still good, through the JWKS and on the API (cached or not).
    await verify(before.access_token);
    await verify(unused.access_token);
    expect(await models(f, before.access_token)).toBe(200);
    expect(await models(f, unused.access_token)).toBe(200);

    // New tokens: the new kid, verifiable by the same long-lived JWKS client and by the API.
    const after = await client.clientCredentialsGrant(config);
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    await verify(after.access_token);
    await verify(after.access_token);
    expect(await models(f, after.access_token)).toBe(200);
    // And by a fresh JWKS client that never saw the old set.
    await jwtVerify(
      after.access_token,
      createRemoteJWKSet(new URL(`${f.base}/.well-known/jwks.json`)),
      {
        issuer: f.config.auth.issuer,
        audience: f.config.auth.audience,
        typ: 'at+jwt',
      },
    );
  });
});
