import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedToken } from '../auth/index.js';
import { openPolicy, type RequestDecision } from '../policy/index.js';
import { authorizer } from './authorize.js';
import { handleError } from './errors.js';
import { modelResource } from './openai.js';

/** An identity as authenticate leaves it (this stage only reads it). */
const identity = (roles: string[], scopes: string[], unscoped = false): VerifiedToken => ({
  issuer: 'https://issuer.test',
  subject: 'alice',
  clientId: 'c1',
  jti: 'j1',
  scopes: new Set(scopes),
  roles,
  issuedAt: 0,
  expiresAt: 2 ** 31,
  jkt: undefined,
  own: !unscoped,
  unscoped,
});

describe('authorize stage', () => {
  let app: FastifyInstance;
  const seen: (RequestDecision | undefined)[] = [];
  let who: VerifiedToken;
  const policy = openPolicy();

  beforeAll(async () => {
    app = Fastify();
    app.setErrorHandler(handleError);
    app.addHook('onResponse', (request, _reply, done) => {
      seen.push(request.decision);
      done();
    });
    const stage = (scope: string | string[], resource?: ReturnType<typeof modelResource>) => [
      (request: { identity?: VerifiedToken }, _r: unknown, done: () => void) => {
        request.identity = who;
        done();
      },
      authorizer(policy, scope, resource),
    ];
    app.post('/v1/chat', { preHandler: stage('inference:invoke', modelResource()) }, () => 'ok');
    app.post(
      '/v1/mod',
      { preHandler: stage('inference:invoke', modelResource('moderation')) },
      () => 'ok',
    );
    app.get('/v1/policy', { preHandler: stage(['policy:admin', 'audit:read']) }, () => 'ok');
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url, payload: body as Record<string, unknown> });

  it('records the decision on the request when it allows', async () => {
    who = identity(['developer'], ['inference:invoke']);
    seen.length = 0;
    expect((await post('/v1/chat', { model: 'chat-large' })).statusCode).toBe(200);
    expect(seen).toEqual([
      {
        allowed: true,
        reason: 'allowed: role developer grants inference:invoke on chat-large',
        action: 'inference:invoke',
        resource: 'model:chat-large',
      },
    ]);
  });

  it('records the decision before refusing, and sends the reason nowhere', async () => {
    who = identity(['auditor'], ['inference:invoke']);
    seen.length = 0;
    const res = await post('/v1/mod', { input: 'x' });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toContain('no role grants');
    expect(seen).toEqual([
      {
        allowed: false,
        reason: 'denied: no role grants inference:invoke on moderation',
        action: 'inference:invoke',
        resource: 'model:moderation',
      },
    ]);
  });

  it('allows any one of several scopes and names them all when it denies', async () => {
    who = identity(['auditor'], ['audit:read']);
    seen.length = 0;
    expect((await app.inject({ url: '/v1/policy' })).statusCode).toBe(200);
    expect(seen[0]).toMatchObject({ allowed: true, action: 'audit:read' });
    who = identity(['developer'], ['inference:invoke', 'models:read']);
    const res = await app.inject({ url: '/v1/policy' });
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="policy:admin audit:read"');
    expect(seen[1]).toEqual({
      allowed: false,
      reason: 'denied: token lacks scope policy:admin; denied: token lacks scope audit:read',
      action: 'policy:admin audit:read',
      resource: undefined,
    });
  });

  it('gives an external token without a scope claim what its roles grant', async () => {
    who = identity(['developer'], [], true);
    expect((await post('/v1/chat', { model: 'x' })).statusCode).toBe(200);
    who = identity(['auditor'], [], true);
    expect((await post('/v1/chat', { model: 'x' })).statusCode).toBe(403);
    who = identity(['developer'], [], false);
    expect((await post('/v1/chat', { model: 'x' })).statusCode).toBe(403);
  });
});
