/**
 * @module test/support/hostile-lifecycle — hostile tokens that were valid once: revoked at the
 * revocation endpoint, signed by a key rotated out past its retention, or issued in a refresh
 * family that a replayed refresh token revoked. Each builder first shows the token working.
 */
import { expect } from 'vitest';
import { accepted, oauth, validClaims, type HostileToken, type TokenBody } from './app-tokens.js';
import { forge } from './jws.js';

/** Tokens whose refusal depends on what happened after they were issued. */
export const LIFECYCLE_TOKENS: readonly HostileToken[] = [
  {
    name: 'a revoked jti (POST /oauth/revoke)',
    reason: 'revoked',
    build: async ({ f }) => {
      const client = await f.client();
      const res = await oauth(f, '/oauth/token', client, { grant_type: 'client_credentials' });
      expect(res.statusCode).toBe(200);
      const token = res.json<TokenBody>().access_token;
      await accepted(f, token);
      expect((await oauth(f, '/oauth/revoke', client, { token })).statusCode).toBe(200);
      return token;
    },
  },
  {
    name: 'a key rotated out past its retention',
    reason: 'unknown_key',
    build: async ({ f }) => {
      const retired = f.app.auth.keys.signingKey();
      // Immediate rotation (no activation delay): the old key retires now, and its retention
      // (maxTokenLifetime + clockSkew) starts now.
      await f.app.auth.keys.rotate(retired.alg, 0);
      expect(f.app.auth.keys.signingKey().kid).not.toBe(retired.kid);
      const sign = () =>
        forge(
          { alg: retired.alg, kid: retired.kid, typ: 'at+jwt' },
          validClaims(f),
          retired.alg,
          retired.privateKey,
        );
      await accepted(f, sign()); // a retired key still verifies within its retention
      const { maxTokenLifetime, clockSkew } = f.config.auth;
      f.now += (maxTokenLifetime + clockSkew + 1) * 1000;
      return sign();
    },
  },
  {
    name: 'an access token from a refresh-token family revoked by a replay',
    reason: 'revoked',
    build: async ({ f }) => {
      const client = await f.client({ allowRefresh: true });
      const first = await oauth(f, '/oauth/token', client, { grant_type: 'client_credentials' });
      expect(first.statusCode).toBe(200);
      const r1 = first.json<TokenBody>().refresh_token;
      expect(r1).toBeDefined();
      const refresh = (refresh_token: string) =>
        oauth(f, '/oauth/token', client, { grant_type: 'refresh_token', refresh_token });
      const second = await refresh(r1!);
      expect(second.statusCode).toBe(200);
      const token = second.json<TokenBody>().access_token;
      await accepted(f, token);
      const replay = await refresh(r1!);
      expect(replay.statusCode).toBe(400);
      expect(replay.json()).toMatchObject({ error: 'invalid_grant' });
      return token;
    },
  },
];
