/**
 * @module test/support/app-tokens — tokens for the app fixture (test/support/app-fixture): valid
 * claims and header at the app's clock, signing with its real key, the OAuth calls a test makes
 * as a client, and the shape of a hostile-token case (test/support/hostile-tokens).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TokenRejection } from '../../src/auth/index.js';
import { basic, form, type Fixture } from './app-fixture.js';
import { forge } from './jws.js';

/** What a builder may use. */
export interface HostileContext {
  f: Fixture;
  /** Base URL of a key server the attacker controls; the app must never contact it. */
  attackerUrl: string;
}

/** One malicious token. */
export interface HostileToken {
  name: string;
  /** Why the verifier must refuse it: seen in the log only, never by the client. */
  reason: TokenRejection;
  build: (ctx: HostileContext) => Promise<string> | string;
}

/** JSON object members. */
export type Json = Record<string, unknown>;

/** The app's clock in epoch seconds. */
export const nowS = (f: Fixture): number => Math.floor(f.now / 1000);

/** Claims of a valid own access token at the app's current time. */
export function validClaims(f: Fixture, overrides: Json = {}): Json {
  const now = nowS(f);
  return {
    iss: f.base,
    sub: 'intruder',
    aud: f.config.auth.audience,
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    client_id: 'gh_intruder',
    scope: 'models:read',
    roles: ['developer'],
    ...overrides,
  };
}

/** The app's valid protected header, with `overrides` replacing members. */
export function validHeader(f: Fixture, overrides: Json = {}): Json {
  const k = f.app.auth.keys.signingKey();
  return { alg: k.alg, kid: k.kid, typ: 'at+jwt', ...overrides };
}

/** A hand-built token signed with the app's real signing key. */
export function signed(f: Fixture, header: Json, payload: Json): string {
  const k = f.app.auth.keys.signingKey();
  return forge(header, payload, k.alg, k.privateKey);
}

/** A genuine token from the app's own issuer. */
export async function issued(f: Fixture): Promise<string> {
  const { token } = await f.app.auth.issuer.issue({
    subject: 'user-1',
    clientId: 'gh_user',
    scopes: ['models:read'],
    roles: ['developer'],
    ttl: 300,
  });
  return token;
}

/** The token endpoint's answer, as far as these tests read it. */
export interface TokenBody {
  access_token: string;
  refresh_token?: string;
}

/** POSTs a form to an OAuth endpoint as client `c` (client_secret_basic). */
export function oauth(
  f: Fixture,
  path: '/oauth/token' | '/oauth/revoke',
  c: { id: string; secret: string },
  params: Record<string, string>,
) {
  return f.app.http.inject({
    method: 'POST',
    url: path,
    headers: {
      authorization: basic(c.id, c.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: form(params),
  });
}

/** Asserts that `token` gets through (the set-up before turning it into an attack worked). */
export async function accepted(f: Fixture, token: string): Promise<void> {
  const res = await f.app.http.inject({
    method: 'GET',
    url: '/v1/models',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.statusCode, 'the token works before the attack').toBe(200);
}
