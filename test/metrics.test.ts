/**
 * @module test/metrics — `GET /metrics` over a real app: only with a token holding
 * `metrics:read` on the main port, without one on `metrics.port`; requests counted by route
 * pattern, status and configured model with their latency and tokens; an unknown model or a
 * subject never becomes a label; auth failures by reason, policy denials, rate-limit refusals,
 * queue depth and batch sizes, audit writes, store and Redis health.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

const MODELS = [
  { id: 'echo', backend: 'echo', task: 'generation' },
  { id: 'echo-embed', backend: 'echo', task: 'embedding' },
];

let f: Fixture;
let admin: string;
let developer: string;
let developerSub: string;

const tokenOf = async (roles: string[], name: string) => {
  const client = await f.client({ name, roles });
  const body = (await requestToken(f, client)).json<{ access_token: string }>();
  return { token: body.access_token, id: client.id };
};

const scrape = async (): Promise<string> => {
  const res = await f.app.http.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(res.statusCode).toBe(200);
  return res.body;
};

/** The value of the sample `name{labels}` (labels in the order printed), or undefined. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const chat = (model: string, content: string, token = developer) =>
  f.app.http.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: { model, messages: [{ role: 'user', content }], max_tokens: 8 },
  });

beforeAll(async () => {
  f = await startApp({ config: { models: MODELS } });
  admin = (await tokenOf(['admin'], 'scraper')).token;
  const dev = await tokenOf(['developer'], 'dev-client-with-a-unique-name');
  developer = dev.token;
  developerSub = dev.id;
});
afterAll(async () => {
  await f.close();
});

describe('GET /metrics on the main port', () => {
  it('needs a token (401), one with metrics:read (403 otherwise), and answers in Prometheus text', async () => {
    const none = await f.app.http.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    const dev = await f.app.http.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${developer}` },
    });
    expect(dev.statusCode).toBe(403);
    expect(dev.headers['www-authenticate']).toMatch(/insufficient_scope/);
    const ok = await f.app.http.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.body).toMatch(/^# HELP gatehouse_/m);
    // Process metrics from prom-client's defaults, on this app's own registry.
    expect(ok.body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(ok.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});

describe('request metrics', () => {
  it('counts chat requests by route pattern, status and model, with tokens and latency', async () => {
    const before = await scrape();
    const labels = 'route="/v1/chat/completions",method="POST",status="200",model="echo"';
    const count = (t: string) => sample(t, `gatehouse_http_requests_total{${labels}}`) ?? 0;
    const tokens = (t: string, kind: string) =>
      sample(t, `gatehouse_inference_tokens_total{model="echo",kind="${kind}"}`) ?? 0;
    let prompt = 0;
    let completion = 0;
    for (const text of ['one', 'two words', 'three little words']) {
      const res = await chat('echo', text);
      expect(res.statusCode).toBe(200);
      const usage = res.json<{ usage: { prompt_tokens: number; completion_tokens: number } }>()
        .usage;
      prompt += usage.prompt_tokens;
      completion += usage.completion_tokens;
    }
    expect(prompt).toBeGreaterThan(0);
    expect(completion).toBeGreaterThan(0);
    const after = await scrape();
    expect(count(after) - count(before)).toBe(3);
    expect(tokens(after, 'prompt') - tokens(before, 'prompt')).toBe(prompt);
    expect(tokens(after, 'completion') - tokens(before, 'completion')).toBe(completion);
    const latency = 'gatehouse_http_request_duration_seconds';
    expect(sample(after, `${latency}_count{${labels}}`)).toBe(count(after));
    expect(sample(after, `${latency}_bucket{${labels},le="+Inf"}`)).toBe(count(after));
    expect(sample(after, `${latency}_sum{${labels}}`)).toBeGreaterThan(0);
  });

  it('labels the route pattern, not the URL sent, and refusals with their status', async () => {
    await f.app.http.inject({
      method: 'GET',
      url: '/v1/datasets/some-id-from-a-client?x=1',
      headers: { authorization: `Bearer ${admin}` },
    });
    await f.app.http.inject({ method: 'GET', url: '/no/such/path/for-metrics' });
    const text = await scrape();
    expect(text).not.toContain('some-id-from-a-client');
    expect(text).not.toContain('for-metrics');
    expect(
      sample(
        text,
        'gatehouse_http_requests_total{route="/v1/datasets/:name",method="GET",status="403",model=""}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'gatehouse_http_requests_total{route="unmatched",method="GET",status="404",model=""}',
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it('never makes a label of a model that is not configured', async () => {
    const res = await chat('model-nobody-configured', 'hello');
    expect(res.statusCode).toBe(404);
    const text = await scrape();
    expect(text).not.toContain('model-nobody-configured');
    expect(
      sample(
        text,
        'gatehouse_http_requests_total{route="/v1/chat/completions",method="POST",status="404",model="other"}',
      ),
    ).toBe(1);
  });

  it('never shows a subject or a client id', async () => {
    await chat('echo', 'once more');
    const text = await scrape();
    expect(developerSub.length).toBeGreaterThan(4);
    expect(text).not.toContain(developerSub);
    expect(text).not.toContain('dev-client-with-a-unique-name');
    expect(text).not.toContain(developer);
  });
});

describe('refusals', () => {
  it('counts auth failures by reason and policy denials by scope', async () => {
    const before = await scrape();
    const reason = (t: string, r: string) =>
      sample(t, `gatehouse_auth_failures_total{reason="${r}"}`) ?? 0;
    const denied = (t: string) =>
      sample(t, 'gatehouse_policy_denials_total{scope="metrics:read"}') ?? 0;
    await f.app.http.inject({ method: 'GET', url: '/v1/models' });
    await f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: 'Bearer not.a.token' },
    });
    await f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: 'Bearer' },
    });
    await f.app.http.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${developer}` },
    });
    const after = await scrape();
    expect(reason(after, 'missing_token') - reason(before, 'missing_token')).toBe(1);
    expect(reason(after, 'malformed') - reason(before, 'malformed')).toBe(1);
    expect(reason(after, 'malformed_request') - reason(before, 'malformed_request')).toBe(1);
    expect(denied(after) - denied(before)).toBe(1);
  });

  it('counts OAuth error responses by endpoint and error: a wrong client secret is invalid_client', async () => {
    const client = await f.client({ name: 'oauth-metrics', roles: ['developer'] });
    const before = await scrape();
    const count = (t: string, endpoint: string, error: string) =>
      sample(t, `gatehouse_oauth_errors_total{endpoint="${endpoint}",error="${error}"}`) ?? 0;
    expect((await requestToken(f, { id: client.id, secret: 'wrong-secret' })).statusCode).toBe(401);
    expect((await requestToken(f, { id: 'gh_nobody', secret: 'x' })).statusCode).toBe(401);
    expect((await requestToken(f, client, { grant_type: 'password' })).statusCode).toBe(400);
    const revoke = await f.app.http.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=abc',
    });
    expect(revoke.statusCode).toBe(401);
    const after = await scrape();
    const added = (endpoint: string, error: string) =>
      count(after, endpoint, error) - count(before, endpoint, error);
    expect(added('/oauth/token', 'invalid_client')).toBe(2);
    expect(added('/oauth/token', 'unsupported_grant_type')).toBe(1);
    expect(added('/oauth/revoke', 'invalid_client')).toBe(1);
    // neither the client id nor a secret becomes a label
    expect(after).not.toContain(client.id);
    expect(after).not.toContain('gh_nobody');
  });

  it('counts rate-limit refusals by limit (every limit shown from the start)', async () => {
    const before = await scrape();
    for (const limit of [
      'requests-per-minute',
      'tokens-per-minute',
      'tokens-per-day',
      'concurrent-requests',
    ])
      expect(sample(before, `gatehouse_ratelimit_refusals_total{limit="${limit}"}`)).toBeDefined();
    f.app.metrics.rateLimited('tokens-per-day');
    f.app.metrics.rateLimited('tokens-per-day');
    const after = await scrape();
    const n = (t: string) =>
      sample(t, 'gatehouse_ratelimit_refusals_total{limit="tokens-per-day"}') ?? 0;
    expect(n(after) - n(before)).toBe(2);
  });
});

describe('models, audit and health', () => {
  it('shows queue depth per model and the sizes of the batches run', async () => {
    const res = await f.app.http.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: { authorization: `Bearer ${developer}`, 'content-type': 'application/json' },
      payload: { model: 'echo-embed', input: ['a', 'b', 'c'] },
    });
    expect(res.statusCode).toBe(200);
    const text = await scrape();
    expect(
      sample(
        text,
        'gatehouse_http_requests_total{route="/v1/embeddings",method="POST",status="200",model="echo-embed"}',
      ),
    ).toBe(1);
    expect(sample(text, 'gatehouse_inference_queue_depth{model="echo"}')).toBe(0);
    expect(sample(text, 'gatehouse_inference_queue_depth{model="echo-embed"}')).toBe(0);
    expect(sample(text, 'gatehouse_inference_batch_size_count{model="echo-embed"}')).toBe(1);
    expect(sample(text, 'gatehouse_inference_batch_size_sum{model="echo-embed"}')).toBe(3);
    expect(sample(text, 'gatehouse_inference_batch_size_bucket{model="echo-embed",le="2"}')).toBe(
      0,
    );
    expect(sample(text, 'gatehouse_inference_batch_size_bucket{model="echo-embed",le="4"}')).toBe(
      1,
    );
  });

  it('shows audit writes, their latency and lag', async () => {
    await chat('echo', 'audited');
    const text = await scrape();
    expect(sample(text, 'gatehouse_audit_events_written_total')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_audit_write_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_audit_write_failures_total')).toBe(0);
    expect(sample(text, 'gatehouse_audit_pending_events')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'gatehouse_audit_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('reports store health (1 by default) and Redis health only once there is a Redis', async () => {
    let text = await scrape();
    expect(sample(text, 'gatehouse_store_healthy')).toBe(1);
    expect(text).not.toContain('gatehouse_redis_healthy');
    f.app.metrics.setStoreHealthy(false);
    f.app.metrics.setRedisHealthy(false);
    text = await scrape();
    expect(sample(text, 'gatehouse_store_healthy')).toBe(0);
    expect(sample(text, 'gatehouse_redis_healthy')).toBe(0);
    f.app.metrics.setStoreHealthy(true);
    f.app.metrics.setRedisHealthy(true);
    text = await scrape();
    expect(sample(text, 'gatehouse_store_healthy')).toBe(1);
    expect(sample(text, 'gatehouse_redis_healthy')).toBe(1);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

describe('metrics.port', () => {
  it('serves /metrics without a token there, while the main port still needs one', async () => {
    const port = await freePort();
    const g = await startApp({
      listen: true,
      config: { models: MODELS, metrics: { port } },
    });
    try {
      const address = await g.app.listenMetrics();
      expect(address).toBe(`http://127.0.0.1:${port}`);
      const open = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(open.status).toBe(200);
      expect(open.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await open.text();
      expect(text).toContain('# TYPE gatehouse_http_requests_total counter');
      const other = await fetch(`http://127.0.0.1:${port}/v1/models`);
      expect(other.status).toBe(404);
      const main = await fetch(`${g.base}/metrics`);
      expect(main.status).toBe(401);
    } finally {
      await g.close();
    }
    // Closing the app closed the metrics listener too.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('starts nothing when metrics.port is not set', async () => {
    await expect(f.app.listenMetrics()).resolves.toBeUndefined();
  });
});

describe('a streamed response the client abandons', () => {
  let g: Fixture;
  beforeAll(async () => {
    g = await startApp({
      listen: true,
      config: { models: [{ id: 'slow', backend: 'echo', task: 'generation', delayMs: 100 }] },
    });
  });
  afterAll(async () => {
    await g.close();
  });

  it('is counted with status 499 (Fastify never calls onResponse for it)', async () => {
    const client = await g.client({ name: 'scraper', roles: ['admin', 'developer'] });
    const { access_token: token } = (await requestToken(g, client)).json<{
      access_token: string;
    }>();
    const abort = new AbortController();
    const res = await fetch(`${g.base}/v1/chat/completions`, {
      method: 'POST',
      signal: abort.signal,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'slow',
        stream: true,
        messages: [{ role: 'user', content: 'a b c d e f g h i j' }],
      }),
    });
    expect(res.status).toBe(200);
    abort.abort();
    await res.body?.cancel().catch(() => undefined);
    const series =
      'gatehouse_http_requests_total{route="/v1/chat/completions",method="POST",status="499",model="slow"}';
    let seen: number | undefined;
    for (let i = 0; i < 100 && seen === undefined; i++) {
      const text = (
        await g.app.http.inject({
          method: 'GET',
          url: '/metrics',
          headers: { authorization: `Bearer ${token}` },
        })
      ).body;
      seen = sample(text, series);
      if (seen === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBe(1);
  });
});
