/**
 * Rate limits over Redis through the HTTP pipeline: two apps sharing one Redis enforce one
 * limit, not two; a Redis that does not answer fails limited callers closed (503 with
 * `Retry-After`) — or open with `ratelimit.failOpen` — while callers nothing limits are served
 * as usual; the metrics report the Redis health and the refusals.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import { redisUrlForTests } from '../src/ratelimit/redis-url.case.js';
import { startApp, type Fixture } from './support/app-fixture.js';
import { writePolicy } from './support/policy-fixture.js';

const POLICY = `${builtinPolicyText()}  metered:
    scopes: [inference:invoke, usage:read]
    models: ["*"]
    limits:
      requestsPerMinute: 5
`;

const redisUrl = await redisUrlForTests('rate limits over Redis');
const dir = mkdtempSync(join(tmpdir(), 'gh-rl-redis-'));
const policyFile = writePolicy(dir, POLICY);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const models = [{ id: 'chat', backend: 'echo', task: 'generation' }];

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

const chat = async (f: Fixture, roles: string[], subject: string) => {
  const { token } = await f.app.auth.issuer.issue({
    subject,
    clientId: `client-${subject}`,
    scopes: ['inference:invoke'],
    roles,
    ttl: 300,
  });
  return f.app.http.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: `Bearer ${token}` },
    payload: { model: 'chat', messages: [{ role: 'user', content: 'hi' }] },
  });
};

const scrape = async (f: Fixture): Promise<string> => {
  const { token } = await f.app.auth.issuer.issue({
    subject: 'scraper',
    clientId: 'scraper',
    scopes: ['metrics:read'],
    roles: ['admin'],
    ttl: 300,
  });
  const res = await f.app.http.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${token}` },
  });
  return res.body;
};

describe.skipIf(redisUrl === undefined)('rate limits shared through Redis', () => {
  const apps: Fixture[] = [];
  beforeAll(async () => {
    const ratelimit = { url: redisUrl, keyPrefix: `gh-test:${randomUUID()}:` };
    for (let i = 0; i < 2; i++) {
      apps.push(await startApp({ config: { models, policy: { file: policyFile }, ratelimit } }));
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('holds one limit for the same identity on two servers', async () => {
    const [a, b] = apps as [Fixture, Fixture];
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await chat(i % 2 === 0 ? a : b, ['metered'], 'shared-user')).statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(await scrape(a)).toMatch(/^gatehouse_redis_healthy 1$/m);
    const refused = (await scrape(a)) + (await scrape(b));
    const counts = [
      ...refused.matchAll(
        /^gatehouse_ratelimit_refusals_total\{limit="requests-per-minute"\} (\d+)$/gm,
      ),
    ];
    expect(counts.map((m) => Number(m[1])).reduce((x, y) => x + y, 0)).toBe(3);
  });
});

describe('a Redis that does not answer', () => {
  let closed: Fixture;
  let open: Fixture;
  beforeAll(async () => {
    const url = `redis://127.0.0.1:${String(await closedPort())}`;
    closed = await startApp({
      config: { models, policy: { file: policyFile }, ratelimit: { url, timeoutMs: 100 } },
    });
    open = await startApp({
      config: {
        models,
        policy: { file: policyFile },
        ratelimit: { url, timeoutMs: 100, failOpen: true },
      },
    });
  });
  afterAll(async () => {
    await Promise.all([closed.close(), open.close()]);
  });

  it('refuses limited callers with 503 and Retry-After (fail closed), serves the others', async () => {
    const res = await chat(closed, ['metered'], 'alice');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'rate_limit_unavailable',
      message: 'Rate limiting is unavailable; retry shortly',
    });
    expect(res.body).not.toContain('127.0.0.1');
    expect((await chat(closed, ['developer'], 'bob')).statusCode).toBe(200);
    expect(await scrape(closed)).toMatch(/^gatehouse_redis_healthy 0$/m);
    const ready = await closed.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', ratelimit: 'unavailable' });
  });

  it('lets limited callers through unlimited with failOpen', async () => {
    const ready = await open.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', ratelimit: 'unavailable' });
    for (let i = 0; i < 7; i++)
      expect((await chat(open, ['metered'], 'carol')).statusCode).toBe(200);
  });
});
