/**
 * @module test/support/policy-fixture — an app serving echo models under the names the policy
 * tests use, tokens for each role from the real token endpoint, and one request per protected
 * route (the role × route matrix of test/policy-*.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { builtinPolicyText } from '../../src/policy/index.js';
import { requestToken, startApp, type Fixture, type FixtureOptions } from './app-fixture.js';

/** Echo models named like real ones, and the moderation classifier over the embedding one. */
export const POLICY_MODELS = {
  models: [
    { id: 'use-lite', backend: 'echo', task: 'embedding' },
    { id: 'chat-large', backend: 'echo', task: 'generation' },
    { id: 'stories', backend: 'echo', task: 'generation' },
  ],
  inference: { moderation: { model: 'use-lite' }, promptInjection: null },
};

/** The built-in policy with developer limited to `use-lite` and `chat-*`. */
export const RESTRICTED = builtinPolicyText().replace(
  /(developer:\n {4}scopes:\n(?: {6}- .*\n)+ {4}models:\n) {6}- "\*"\n/,
  '$1      - use-lite\n      - "chat-*"\n',
);

/** Writes `text` as the policy file `name` in `dir`; returns its path. */
export function writePolicy(dir: string, text: string, name = 'policy.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** An app with the policy models and, when given, a policy file written before it starts. */
export async function startPolicyApp(
  dir: string,
  policyText?: string,
  options: FixtureOptions = {},
): Promise<Fixture> {
  const policy = policyText === undefined ? {} : { policy: { file: writePolicy(dir, policyText) } };
  return startApp({ ...options, config: { ...POLICY_MODELS, ...policy, ...options.config } });
}

/** A real access token for a client of `roles` (its scopes: all the roles grant). */
export async function roleToken(f: Fixture, roles: string[], scopes?: string[]): Promise<string> {
  const client = await f.client({ roles, scopes });
  const res = await requestToken(f, client);
  expect(res.statusCode).toBe(200);
  return res.json<{ access_token: string }>().access_token;
}

/** One request per protected route; `model` replaces the model where the route takes one. */
export const ROUTES = {
  'GET /v1/models': () => ({ method: 'GET' as const, url: '/v1/models' }),
  'GET /v1/models/{id}': () => ({ method: 'GET' as const, url: '/v1/models/use-lite' }),
  'POST /v1/embeddings': (model = 'use-lite') => ({
    method: 'POST' as const,
    url: '/v1/embeddings',
    payload: { model, input: 'hello' },
  }),
  'POST /v1/moderations': (model?: string) => ({
    method: 'POST' as const,
    url: '/v1/moderations',
    payload: { input: 'hello', ...(model === undefined ? {} : { model }) },
  }),
  'POST /v1/chat/completions': (model = 'chat-large') => ({
    method: 'POST' as const,
    url: '/v1/chat/completions',
    payload: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
  }),
  'POST /v1/completions': (model = 'chat-large') => ({
    method: 'POST' as const,
    url: '/v1/completions',
    payload: { model, prompt: 'hi', max_tokens: 2 },
  }),
  'GET /v1/policy': () => ({ method: 'GET' as const, url: '/v1/policy' }),
  'POST /v1/policy/explain': () => ({
    method: 'POST' as const,
    url: '/v1/policy/explain',
    payload: { roles: ['developer'], action: 'inference:invoke', resource: 'model:chat-large' },
  }),
} as const;

export type RouteName = keyof typeof ROUTES;

/** Sends `route` (with `model`) as the bearer of `token`. */
export function call(f: Fixture, token: string, route: RouteName, model?: string) {
  const r: { method: 'GET' | 'POST'; url: string; payload?: unknown } = ROUTES[route](model);
  return f.app.http.inject({
    method: r.method,
    url: r.url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(r.payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(r.payload === undefined ? {} : { payload: JSON.stringify(r.payload) }),
  });
}
