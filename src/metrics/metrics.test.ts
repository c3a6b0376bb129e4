/**
 * @module metrics/metrics.test — the registry's text: hot-path counts handed over on scrape and
 * kept across scrapes, histogram buckets (a value on a bound counts in it), bounded labels
 * (models not configured are `other`, unknown reasons `other`), the Redis gauge only with a
 * Redis.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from './index.js';
import { Tally } from './tally.js';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics', () => {
  it('keeps counts across scrapes (pending sums are handed over, not lost)', async () => {
    const m = new Metrics({ models: ['echo'], processMetrics: false });
    m.tokens('echo', 5, 7);
    m.authFailure('expired');
    expect(
      sample(await m.text(), 'gatehouse_inference_tokens_total{model="echo",kind="prompt"}'),
    ).toBe(5);
    m.tokens('echo', 1, 1);
    m.authFailure('expired');
    const text = await m.text();
    expect(sample(text, 'gatehouse_inference_tokens_total{model="echo",kind="prompt"}')).toBe(6);
    expect(sample(text, 'gatehouse_inference_tokens_total{model="echo",kind="completion"}')).toBe(
      8,
    );
    expect(sample(text, 'gatehouse_auth_failures_total{reason="expired"}')).toBe(2);
    expect(text).not.toMatch(/^process_/m);
  });

  it('labels only configured models and known reasons', async () => {
    const m = new Metrics({ models: ['echo'], processMetrics: false });
    expect(m.modelLabel('echo')).toBe('echo');
    expect(m.modelLabel('anything-else')).toBe('other');
    expect(m.modelLabel(undefined)).toBe('');
    expect(m.modelLabel(42)).toBe('');
    m.tokens('some-client-chosen-name', 3, 4);
    m.authFailure('a reason nobody defined');
    m.authFailure('__proto__');
    const text = await m.text();
    expect(text).not.toContain('some-client-chosen-name');
    expect(text).not.toContain('nobody');
    expect(text).not.toContain('__proto__');
    expect(sample(text, 'gatehouse_inference_tokens_total{model="other",kind="prompt"}')).toBe(3);
    expect(sample(text, 'gatehouse_auth_failures_total{reason="other"}')).toBe(2);
  });

  it('labels a model the registry serves by its id, as long as it is served', async () => {
    const m = new Metrics({ models: ['echo'], processMetrics: false });
    const served = new Set(['registry-only']);
    m.watchModels(
      () => [],
      (id) => served.has(id),
    );
    expect(m.modelLabel('registry-only')).toBe('registry-only');
    expect(m.modelLabel('echo')).toBe('echo');
    expect(m.modelLabel('not-served')).toBe('other');
    m.tokens('registry-only', 5, 6);
    served.delete('registry-only'); // retired
    expect(m.modelLabel('registry-only')).toBe('other');
    m.oauthError('/oauth/token', 'invalid_client');
    m.oauthError('/oauth/token', 'a code nobody defined');
    const text = await m.text();
    expect(
      sample(text, 'gatehouse_inference_tokens_total{model="registry-only",kind="prompt"}'),
    ).toBe(5);
    expect(
      sample(text, 'gatehouse_oauth_errors_total{endpoint="/oauth/token",error="invalid_client"}'),
    ).toBe(1);
    expect(
      sample(text, 'gatehouse_oauth_errors_total{endpoint="/oauth/token",error="other"}'),
    ).toBe(1);
    expect(text).not.toContain('nobody');
  });

  it('prints request histograms with cumulative buckets, a value on a bound inside it', async () => {
    const m = new Metrics({ processMetrics: false });
    const series = m.requests.route('/v1/models', 'GET');
    series.observe(200, '', 0.01);
    series.observe(200, '', 0.0100001);
    series.observe(200, '', 500);
    const text = await m.text();
    const l = 'route="/v1/models",method="GET",status="200",model=""';
    const b = (le: string) =>
      sample(text, `gatehouse_http_request_duration_seconds_bucket{${l},le="${le}"}`);
    expect(b('0.005')).toBe(0);
    expect(b('0.01')).toBe(1);
    expect(b('0.025')).toBe(2);
    expect(b('120')).toBe(2);
    expect(b('+Inf')).toBe(3);
    expect(sample(text, `gatehouse_http_request_duration_seconds_count{${l}}`)).toBe(3);
    expect(sample(text, `gatehouse_http_requests_total{${l}}`)).toBe(3);
    expect(sample(text, `gatehouse_http_request_duration_seconds_sum{${l}}`)).toBeCloseTo(
      500.0200001,
    );
  });

  it('has one series per route and method', () => {
    const m = new Metrics({ processMetrics: false });
    expect(m.requests.route('/a', 'GET')).toBe(m.requests.route('/a', 'GET'));
    expect(m.requests.route('/a', 'GET')).not.toBe(m.requests.route('/a', 'HEAD'));
    expect(m.requests.unmatched('GET')).toBe(m.requests.unmatched('GET'));
  });

  it('exports the Redis gauge from the start when a Redis is configured', async () => {
    const withRedis = new Metrics({ redis: true, processMetrics: false });
    expect(sample(await withRedis.text(), 'gatehouse_redis_healthy')).toBe(1);
    withRedis.setRedisHealthy(false);
    expect(sample(await withRedis.text(), 'gatehouse_redis_healthy')).toBe(0);
    const without = new Metrics({ processMetrics: false });
    expect(await without.text()).not.toContain('gatehouse_redis_healthy');
  });

  it('reads queue depth, running work and batch sizes of the served models when scraped', async () => {
    const m = new Metrics({ processMetrics: false });
    const sizes = new Float64Array(33);
    sizes[1] = 2;
    sizes[3] = 1;
    sizes[32] = 1;
    m.watchModels(() => [
      { config: { id: 'embed' }, batcher: { queued: 7, running: 1, batchSizes: sizes } },
      { config: { id: 'chat' }, slots: { waiting: 2, busy: 1 } },
    ]);
    const text = await m.text();
    expect(sample(text, 'gatehouse_inference_queue_depth{model="embed"}')).toBe(7);
    expect(sample(text, 'gatehouse_inference_queue_depth{model="chat"}')).toBe(2);
    expect(sample(text, 'gatehouse_inference_running{model="chat"}')).toBe(1);
    const b = (le: string) =>
      sample(text, `gatehouse_inference_batch_size_bucket{model="embed",le="${le}"}`);
    expect(b('1')).toBe(2);
    expect(b('2')).toBe(2);
    expect(b('4')).toBe(3);
    expect(b('16')).toBe(3);
    expect(b('32')).toBe(4);
    expect(b('+Inf')).toBe(4);
    expect(sample(text, 'gatehouse_inference_batch_size_sum{model="embed"}')).toBe(37);
    expect(text).not.toMatch(/gatehouse_inference_batch_size_count\{model="chat"\}/);
  });
});

describe('Tally', () => {
  it('counts a value above every bound in the last cell', () => {
    const t = new Tally([1, 2]);
    t.observe(0);
    t.observe(2);
    t.observe(3);
    expect([...t.counts]).toEqual([1, 1, 1]);
    expect(t.count).toBe(3);
    expect(t.sum).toBe(5);
  });
});
