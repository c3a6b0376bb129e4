/**
 * A shared rate limit holds across three replicas (separate processes over one PostgreSQL and
 * one Redis): a role limited to 30 requests per minute, 60 concurrent requests of one caller
 * spread evenly over the replicas (20 at once on each) → 30 ± 1 answered, the rest 429 with
 * `Retry-After` — one limit, not three times it. Skipped unless DATABASE_URL and REDIS_URL are
 * set and reachable. Needs the rate-limit stage wired into the pipeline (issue 11, "Limits").
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import { dropSchema, postgresForTests } from './helpers/postgres.js';
import { redisForTests } from './helpers/redis.js';
import { startReplicas, type Replicas } from './helpers/replicas.js';

const url = await postgresForTests('replicas-ratelimit');
const redis = url === undefined ? undefined : await redisForTests('replicas-ratelimit');
const LIMIT = 30;
const PER_REPLICA = 20;

/** The built-in policy with developer limited to LIMIT requests per minute. */
const LIMITED = builtinPolicyText().replace(
  /(developer:\n(?: {4}.*\n| {6}.*\n)*? {4}limits:) \{\}\n/,
  `$1\n      requestsPerMinute: ${String(LIMIT)}\n`,
);

describe.skipIf(url === undefined || redis === undefined)(
  'a rate limit shared by 3 replicas',
  () => {
    const run = randomBytes(5).toString('hex');
    const schema = `gatehouse_rl_${run}`;
    let r: Replicas;
    let at: string;

    beforeAll(async () => {
      expect(LIMITED).toContain(`requestsPerMinute: ${String(LIMIT)}`);
      r = await startReplicas({
        count: 3,
        storeUrl: url ?? '',
        schema,
        ratelimitUrl: redis ?? '',
        policyText: LIMITED,
        config: { ratelimit: { url: redis, keyPrefix: `gh-test-${run}:` } },
      });
      const out = await r.cli([
        'clients',
        'create',
        '--name',
        'dev',
        '--roles',
        'developer',
        '--json',
      ]);
      const json = JSON.parse(out.stdout) as { client_id: string; client_secret: string };
      const res = await fetch(`${r.next()}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${json.client_id}:${json.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
      at = ((await res.json()) as { access_token: string }).access_token;
    }, 120_000);

    afterAll(async () => {
      await (r as Replicas | undefined)?.close();
      if (url !== undefined) await dropSchema(url, schema);
    });

    it('a shared rate limit holds to within one request under concurrent load', async () => {
      const chat = (base: string) =>
        fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'echo',
            messages: [{ role: 'user', content: 'hi' }],
            max_tokens: 2,
          }),
        });
      const results = await Promise.all(
        r.urls.flatMap((base) => Array.from({ length: PER_REPLICA }, () => chat(base))),
      );
      const statuses = results.map((res) => res.status);
      const admitted = statuses.filter((s) => s === 200).length;
      const refused = results.filter((res) => res.status === 429);
      expect(admitted + refused.length).toBe(statuses.length);
      expect(Math.abs(admitted - LIMIT)).toBeLessThanOrEqual(1);
      for (const res of refused) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    });
  },
);
