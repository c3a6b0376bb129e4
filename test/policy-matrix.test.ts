/**
 * @module test/policy-matrix — every built-in role against every protected route, end to end
 * with real tokens from the token endpoint over inject(): with the built-in policy, and with a
 * policy file that limits developer to `use-lite` and `chat-*`. A denial is 403
 * `insufficient_scope` naming the route's scope, OpenAI-shaped, and never tells the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/lib/logger.js';
import type { Fixture } from './support/app-fixture.js';
import {
  call,
  RESTRICTED,
  roleToken,
  ROUTES,
  startPolicyApp,
  type RouteName,
} from './support/policy-fixture.js';

const ROLES = ['developer', 'ml-engineer', 'auditor', 'admin'] as const;
type Role = (typeof ROLES)[number];

const READ: RouteName[] = ['GET /v1/models', 'GET /v1/models/{id}'];
const INFER: RouteName[] = [
  'POST /v1/embeddings',
  'POST /v1/moderations',
  'POST /v1/chat/completions',
  'POST /v1/completions',
];
/** What each built-in role may call (DESIGN.md); everything else is 403. */
const MAY: Record<Role, RouteName[]> = {
  developer: [...READ, ...INFER],
  'ml-engineer': [...READ, ...INFER],
  auditor: [...READ, 'GET /v1/policy'],
  admin: [...READ, 'GET /v1/policy', 'POST /v1/policy/explain'],
};
/** The scope a denial names, per route (RFC 6750 §3: space-separated when any of several). */
const SCOPE: Record<RouteName, string> = {
  'GET /v1/models': 'models:read',
  'GET /v1/models/{id}': 'models:read',
  'POST /v1/embeddings': 'inference:invoke',
  'POST /v1/moderations': 'inference:invoke',
  'POST /v1/chat/completions': 'inference:invoke',
  'POST /v1/completions': 'inference:invoke',
  'GET /v1/policy': 'policy:admin audit:read',
  'POST /v1/policy/explain': 'policy:admin',
};

type Reply = Awaited<ReturnType<typeof call>>;

function expectDenied(res: Reply, scope: string): void {
  expect(res.statusCode).toBe(403);
  expect(res.headers['www-authenticate']).toBe(
    `Bearer realm="gatehouse", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="${scope}"`,
  );
  expect(res.json()).toEqual({
    error: {
      message: 'The access token does not grant the required scope',
      type: 'permission_error',
      param: null,
      code: 'insufficient_scope',
    },
  });
  // The policy's reason is for the audit log, never for the caller.
  for (const secret of ['denied', 'role', 'grants', 'lacks'])
    expect(res.body).not.toContain(secret);
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gh-policy-matrix-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const routes = Object.keys(ROUTES) as RouteName[];
const cells = ROLES.flatMap((role) => routes.map((route): [Role, RouteName] => [role, route]));

describe('role × route, built-in policy', () => {
  let f: Fixture;
  const tokens = new Map<Role, string>();
  beforeAll(async () => {
    f = await startPolicyApp(tempDir());
    for (const role of ROLES) tokens.set(role, await roleToken(f, [role]));
  });
  afterAll(async () => {
    await f.close();
  });

  it.each(cells)('%s → %s', async (role, route) => {
    const res = await call(f, tokens.get(role) ?? '', route);
    if (MAY[role].includes(route)) expect(res.statusCode, res.body).toBe(200);
    else expectDenied(res, SCOPE[route]);
  });

  it('denies a developer token narrowed to models:read every inference route', async () => {
    const narrow = await roleToken(f, ['developer'], ['models:read']);
    for (const route of INFER) expectDenied(await call(f, narrow, route), 'inference:invoke');
    expect((await call(f, narrow, 'GET /v1/models')).statusCode).toBe(200);
  });
});

describe('role × route, developer limited to use-lite and chat-*', () => {
  let f: Fixture;
  const tokens = new Map<Role, string>();
  const log: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        log.push(chunk.toString('utf8'));
        done();
      },
    });
    f = await startPolicyApp(tempDir(), RESTRICTED, {
      overrides: { logger: createLogger('info', sink) },
    });
    for (const role of ROLES) tokens.set(role, await roleToken(f, [role]));
  });
  afterAll(async () => {
    await f.close();
  });

  it.each(cells)('%s → %s (default models)', async (role, route) => {
    // moderation's default model is `moderation`, which developer may no longer use.
    const res = await call(f, tokens.get(role) ?? '', route);
    const may =
      MAY[role].includes(route) && !(role === 'developer' && route === 'POST /v1/moderations');
    if (may) expect(res.statusCode, res.body).toBe(200);
    else expectDenied(res, SCOPE[route]);
  });

  const other: [RouteName, string][] = [
    ['POST /v1/chat/completions', 'stories'],
    ['POST /v1/completions', 'stories'],
    ['POST /v1/embeddings', 'stories'],
    ['POST /v1/moderations', 'moderation'],
    ['POST /v1/moderations', 'prompt-injection'],
    ['POST /v1/chat/completions', 'no-such-model'],
  ];
  it.each(other)('denies developer %s on %s; ml-engineer is not limited', async (route, model) => {
    expectDenied(await call(f, tokens.get('developer') ?? '', route, model), 'inference:invoke');
    // ml-engineer still has "*": the request gets past the policy (and then to the model).
    expect((await call(f, tokens.get('ml-engineer') ?? '', route, model)).statusCode).not.toBe(403);
    const line = log.find((l) =>
      l.includes(`"reason":"denied: no role grants inference:invoke on ${model}"`),
    );
    expect(line, 'the reason is logged').toBeDefined();
  });

  it('lets developer use the models its patterns match', async () => {
    const dev = tokens.get('developer') ?? '';
    expect((await call(f, dev, 'POST /v1/embeddings', 'use-lite')).statusCode).toBe(200);
    expect((await call(f, dev, 'POST /v1/chat/completions', 'chat-large')).statusCode).toBe(200);
    // Allowed by chat-*, and then not found: the policy decides before the model lookup.
    expect((await call(f, dev, 'POST /v1/completions', 'chat-none')).statusCode).toBe(404);
  });
});
