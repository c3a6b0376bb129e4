/**
 * Rate limits and token quotas per identity through the HTTP pipeline (memory backend): the
 * policy's per-role budgets and a client's own, requests per minute, tokens reserved before the
 * model runs and refunded after, concurrent requests (freed when a client goes away), per-model
 * budgets, the 429 with `Retry-After` and the IETF RateLimit headers, the audit event naming the
 * limit, and `GET /v1/usage`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import { startApp, type Fixture } from './support/app-fixture.js';
import { writePolicy } from './support/policy-fixture.js';

const POLICY = `${builtinPolicyText()}  metered:
    scopes: [inference:invoke, usage:read]
    models: ["*"]
    limits:
      requestsPerMinute: 3
  tokens:
    scopes: [inference:invoke, usage:read]
    models: ["*"]
    limits:
      tokensPerMinute: 40
  single:
    scopes: [inference:invoke]
    models: ["*"]
    limits:
      concurrentRequests: 1
  permodel:
    scopes: [inference:invoke]
    models: ["*"]
    limits:
      models:
        "chat-a": { requestsPerMinute: 1 }
`;

interface ErrorBody {
  error: { message: string; code: string; type: string };
}

describe('rate limits and quotas', () => {
  let f: Fixture;
  const dir = mkdtempSync(join(tmpdir(), 'gh-ratelimits-'));

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      config: {
        models: [
          { id: 'chat', backend: 'echo', task: 'generation' },
          { id: 'chat-a', backend: 'echo', task: 'generation' },
          { id: 'chat-b', backend: 'echo', task: 'generation' },
          { id: 'slow', backend: 'echo', task: 'generation', delayMs: 100 },
          { id: 'embed', backend: 'echo', task: 'embedding' },
        ],
        policy: { file: writePolicy(dir, POLICY) },
      },
    });
  });
  afterAll(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  const token = async (roles: string[], clientId = 'gh_rl_test') => {
    n += 1;
    const { token: t } = await f.app.auth.issuer.issue({
      subject: `user-${n}`,
      clientId: `${clientId}-${n}`,
      scopes: ['inference:invoke', 'usage:read'],
      roles,
      ttl: 300,
    });
    return t;
  };
  const chat = (t: string, model = 'chat', extra: Record<string, unknown> = {}) =>
    f.app.http.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${t}` },
      payload: { model, messages: [{ role: 'user', content: 'one two three' }], ...extra },
    });
  const usage = async (t: string) => {
    const res = await f.app.http.inject({
      method: 'GET',
      url: '/v1/usage',
      headers: { authorization: `Bearer ${t}` },
    });
    expect(res.statusCode).toBe(200);
    return res.json<{
      object: string;
      data: {
        limit: string;
        identity: string;
        model: string;
        limit_value: number;
        remaining: number;
        window_seconds: number;
        reset_seconds: number;
      }[];
    }>();
  };

  it('refuses the request past requestsPerMinute with 429, Retry-After and the RateLimit headers', async () => {
    const t = await token(['metered']);
    for (let i = 0; i < 3; i++) {
      const ok = await chat(t);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['ratelimit-policy']).toMatch(/q=3;w=60/);
      expect(ok.headers.ratelimit).toMatch(new RegExp(`r=${String(2 - i)}`));
    }
    const refused = await chat(t);
    expect(refused.statusCode).toBe(429);
    const retry = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 60).toBe(true);
    expect(refused.headers['ratelimit-policy']).toMatch(/q=3;w=60/);
    expect(refused.headers.ratelimit).toMatch(/r=0/);
    const body = refused.json<ErrorBody>();
    expect(body.error.code).toBe('rate_limit_exceeded');
    expect(body.error.message).toBe(
      `Rate limit reached: 3 requests per minute for your identity on all models; retry in ${String(retry)}s`,
    );
  });

  it('records each refusal as an audit event naming the limit that hit', async () => {
    const t = await token(['metered']);
    const subject = `user-${String(n)}`;
    for (let i = 0; i < 4; i++) await chat(t);
    const { token: auditor } = await f.app.auth.issuer.issue({
      subject: 'auditor-rl',
      clientId: 'gh_rl_auditor',
      scopes: ['audit:read'],
      roles: ['auditor'],
      ttl: 300,
    });
    const res = await f.app.http.inject({
      method: 'GET',
      url: `/v1/audit/events?subject=${subject}`,
      headers: { authorization: `Bearer ${auditor}` },
    });
    const events = res.json<{ data: Record<string, unknown>[] }>().data;
    expect(events.map((e) => e.status)).toEqual([200, 200, 200, 429]);
    expect(events[3]).toMatchObject({
      action: 'inference:invoke',
      resource: 'model:chat',
      decision: 'deny',
      reason: 'refused: rate_limit_exceeded',
      details: {
        rateLimit: { limit: 'requests-per-minute', identity: 'sub', model: '*', capacity: 3 },
      },
    });
  });

  it('refills a budget as time passes', async () => {
    const t = await token(['metered']);
    for (let i = 0; i < 3; i++) expect((await chat(t)).statusCode).toBe(200);
    expect((await chat(t)).statusCode).toBe(429);
    // 3 per minute: one more every 20 s.
    f.now += 20_000;
    expect((await chat(t)).statusCode).toBe(200);
    expect((await chat(t)).statusCode).toBe(429);
  });

  it('reserves prompt + max_tokens before the model runs, refusing a request that cannot fit', async () => {
    const t = await token(['tokens']);
    const big = await chat(t, 'chat', { max_tokens: 100 });
    expect(big.statusCode).toBe(429);
    // No wait would let 103 tokens into a budget of 40: the caller is told so, not to retry.
    expect(big.headers['retry-after']).toBeUndefined();
    expect(big.json<ErrorBody>().error.message).toBe(
      'Rate limit reached: 40 tokens per minute for your identity on all models; this request ' +
        'needs 103 tokens (prompt + max_tokens), more than the budget holds: lower max_tokens',
    );
    // One that fits the budget but not what is left of it now is told when to come back.
    expect((await chat(t, 'chat', { max_tokens: 30 })).statusCode).toBe(200);
    // It spent at least 4 of them (3 prompt tokens and a word): 39 no longer fit.
    const later = await chat(t, 'chat', { max_tokens: 36 });
    expect(later.statusCode).toBe(429);
    expect(Number(later.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(later.json<ErrorBody>().error.message).toMatch(
      /^Rate limit reached: 40 tokens per minute for your identity on all models; retry in \d+s$/,
    );
  });

  it('refuses a streamed request whose reservation does not fit with a plain 429', async () => {
    const t = await token(['tokens']);
    const res = await chat(t, 'chat', { max_tokens: 100, stream: true });
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json<ErrorBody>().error.code).toBe('rate_limit_exceeded');
    // A stream that fits streams, with what is left of the budget in its head.
    const ok = await chat(t, 'chat', { max_tokens: 10, stream: true });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(ok.headers.ratelimit).toMatch(/"tpm-sub";r=27;/);
  });

  it('charges nothing for a request refused before it runs', async () => {
    const t = await token(['tokens']);
    expect((await chat(t, 'chat', { max_tokens: 100 })).statusCode).toBe(429);
    // Nothing was spent by the refused request.
    const before = (await usage(t)).data.find(
      (d) => d.limit === 'tokens-per-minute' && d.identity === 'sub',
    );
    expect(before?.remaining).toBe(40);
  });

  it('refunds what a request reserved but did not use', async () => {
    const t = await token(['tokens']);
    // "one two three" is 3 tokens for the echo model; it answers with at most 3 words.
    const ok = await chat(t, 'chat', { max_tokens: 30 });
    expect(ok.statusCode).toBe(200);
    const used = ok.json<{ usage: { total_tokens: number } }>().usage.total_tokens;
    expect(used).toBeLessThan(33);
    const after = (await usage(t)).data.find(
      (d) => d.limit === 'tokens-per-minute' && d.identity === 'sub',
    );
    expect(after?.remaining).toBe(40 - used);
  });

  it('holds concurrentRequests, and frees the slot when the client goes away', async () => {
    const t = await token(['single']);
    const url = `${f.base}/v1/chat/completions`;
    const headers = { authorization: `Bearer ${t}`, 'content-type': 'application/json' };
    const long = JSON.stringify({
      model: 'slow',
      stream: true,
      messages: [{ role: 'user', content: 'a b c d e f g h i j' }],
    });
    const abort = new AbortController();
    const first = await fetch(url, { method: 'POST', headers, body: long, signal: abort.signal });
    expect(first.status).toBe(200);
    const second = await chat(t, 'chat');
    expect(second.statusCode).toBe(429);
    expect(second.json<ErrorBody>().error.message).toMatch(
      /^Rate limit reached: 1 concurrent requests for your identity on all models/,
    );
    abort.abort();
    await first.body?.cancel().catch(() => undefined);
    // The lease ends when the connection closes; poll until the server has seen it.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await chat(t, 'chat')).statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
  });

  it('counts a per-model budget for that model only', async () => {
    const t = await token(['permodel']);
    expect((await chat(t, 'chat-a')).statusCode).toBe(200);
    const refused = await chat(t, 'chat-a');
    expect(refused.statusCode).toBe(429);
    expect(refused.json<ErrorBody>().error.message).toMatch(
      /^Rate limit reached: 1 requests per minute for your identity on model 'chat-a'/,
    );
    expect((await chat(t, 'chat-b')).statusCode).toBe(200);
  });

  it('applies a client’s own limits over its roles’', async () => {
    const c = await f.client({
      name: 'limited',
      roles: ['developer'],
      limits: { requestsPerMinute: 1 },
    });
    const { token: t } = await f.app.auth.issuer.issue({
      subject: c.id,
      clientId: c.id,
      scopes: ['inference:invoke'],
      roles: ['developer'],
      ttl: 300,
    });
    expect((await chat(t, 'chat')).statusCode).toBe(200);
    const refused = await chat(t, 'chat');
    expect(refused.statusCode).toBe(429);
  });

  it('leaves a caller nothing limits without RateLimit headers', async () => {
    const t = await token(['developer']);
    const ok = await chat(t, 'chat');
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['ratelimit-policy']).toBeUndefined();
    expect(ok.headers.ratelimit).toBeUndefined();
  });
});
