/**
 * PostgreSQL goes away under two running replicas, for real: the store is reached through a TCP
 * proxy that the test cuts (every connection reset, new ones refused), then stalls (a partition:
 * connections open, nothing answered), and restores after each. While it is away, audited requests get 503 (fail closed: `store_unavailable` / `audit_unavailable`, or
 * `temporarily_unavailable` at the token endpoint) with `Retry-After`, never a 500 and never
 * later than the request deadline; `/readyz` says the store is unavailable; nothing crashes.
 * Once it is back, service resumes by itself, every event acknowledged before the cut is in the
 * log, and `gatehouse audit verify` passes. Skipped unless DATABASE_URL is set and reachable.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, postgresForTests } from './helpers/postgres.js';
import { eventually, startReplicas, type Replicas } from './helpers/replicas.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const url = await postgresForTests('store-faults');
/**
 * The replicas' request deadline; no answer during an outage may come later than this. Above the
 * store's connect (5 s) plus statement (10 s) bounds, as the default (30 s) is.
 */
const REQUEST_TIMEOUT_MS = 20_000;
/** Per test: an outage and a recovery, with every wait bounded inside. */
const TEST_TIMEOUT_MS = 90_000;

describe.skipIf(url === undefined)(
  'PostgreSQL unreachable under two replicas',
  { timeout: TEST_TIMEOUT_MS },
  () => {
    const schema = `gatehouse_faults_${randomBytes(5).toString('hex')}`;
    let proxy: TcpProxy;
    let r: Replicas;
    let dev: { id: string; secret: string };
    let at: string;
    /** request_id → chain of every inference response acknowledged (200) before the cut. */
    const acknowledged = new Map<string, string>();

    const basic = () =>
      `Basic ${Buffer.from(`${encodeURIComponent(dev.id)}:${encodeURIComponent(dev.secret)}`).toString('base64')}`;

    /** A request that must answer within the deadline (plus slack for a loaded machine). */
    const bounded = (base: string, path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + 4000) });

    const chat = (base: string) =>
      bounded(base, '/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'echo',
          messages: [{ role: 'user', content: 'hello there' }],
          max_tokens: 4,
        }),
      });

    const token = (base: string) =>
      bounded(base, '/oauth/token', {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });

    beforeAll(async () => {
      const target = new URL(url ?? '');
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(url ?? '');
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      r = await startReplicas({
        count: 2,
        storeUrl: viaProxy.toString(),
        schema,
        config: {
          server: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: 5000 },
          // One JWS per receipt: its claims name the event's chain and request id.
          audit: { receipts: 'single', checkpointEvery: 5 },
        },
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
      dev = { id: json.client_id, secret: json.client_secret };
      const res = await token(r.next());
      expect(res.status).toBe(200);
      at = ((await res.json()) as { access_token: string }).access_token;
    }, 120_000);

    afterAll(async () => {
      await (r as Replicas | undefined)?.close();
      await (proxy as TcpProxy | undefined)?.close();
      if (url !== undefined) await dropSchema(url, schema);
    });

    it('answers and records requests while the store is up', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => chat(r.next())));
      for (const res of results) {
        expect(res.status).toBe(200);
        const receipt = decodeJwt(res.headers.get('gatehouse-receipt') ?? '');
        acknowledged.set(String(receipt.request_id), String(receipt.chain));
      }
      expect(acknowledged.size).toBe(20);
    });

    it('refuses audited requests with 503 while the store is cut, never 500, within the deadline', async () => {
      proxy.cut();
      // A few rounds: the first requests meet the reset connections, the later ones a refused connect.
      for (let round = 0; round < 3; round++) {
        for (const base of r.urls) {
          const [c, t] = await Promise.all([chat(base), token(base)]);
          expect(c.status).toBe(503);
          expect(c.headers.get('retry-after')).toMatch(/^\d+$/);
          const body = (await c.json()) as { error: { code: string; message: string } };
          expect(['store_unavailable', 'audit_unavailable']).toContain(body.error.code);
          expect(body.error.message).not.toMatch(/postgres|5432|ECONN|terminated/i);
          expect(t.status).toBe(503);
          expect(t.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(await t.json()).toMatchObject({ error: 'temporarily_unavailable' });
        }
      }
    });

    it('reports the store unavailable on /readyz of every replica', async () => {
      await eventually(async () => {
        for (const base of r.urls) {
          const res = await bounded(base, '/readyz');
          expect(res.status).toBe(503);
          expect(await res.json()).toMatchObject({ status: 'not_ready', store: 'unavailable' });
        }
      });
    });

    it('resumes by itself once the store is back', async () => {
      proxy.restore();
      await eventually(async () => {
        for (const base of r.urls) {
          const ready = await bounded(base, '/readyz');
          expect(ready.status).toBe(200);
          expect(await ready.json()).toMatchObject({ status: 'ready', store: 'ok' });
          expect((await chat(base)).status).toBe(200);
          expect((await token(base)).status).toBe(200);
        }
      }, 30_000);
    });

    it('answers 503 within the deadline when the store stops answering (a partition), and recovers', async () => {
      proxy.stall();
      const answers = await Promise.all(r.urls.flatMap((base) => [chat(base), token(base)]));
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      await eventually(async () => {
        for (const base of r.urls) {
          const res = await bounded(base, '/readyz');
          expect(await res.json()).toMatchObject({ store: 'unavailable' });
        }
      });
      proxy.restore();
      await eventually(async () => {
        for (const base of r.urls) {
          expect((await bounded(base, '/readyz')).status).toBe(200);
          expect((await chat(base)).status).toBe(200);
        }
      }, 40_000);
    });

    it('lost no acknowledged event, and the chains verify', async () => {
      const verify = await r.cli(['audit', 'verify', '--json']);
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
      const exported = await r.cli(['audit', 'export']);
      expect(exported.code).toBe(0);
      const events = new Map<string, string>();
      for (const line of exported.stdout.split('\n')) {
        if (line === '') continue;
        const e = JSON.parse(line) as { requestId: string | null; chain: string };
        if (e.requestId !== null) events.set(e.requestId, e.chain);
      }
      for (const [requestId, chain] of acknowledged) expect(events.get(requestId)).toBe(chain);
    });

    it('kept both replicas running, with no unhandled rejection', () => {
      for (const replica of r.replicas) {
        expect(replica.alive()).toBe(true);
        expect(replica.output()).not.toMatch(/unhandled|uncaught/i);
      }
    });
  },
);
