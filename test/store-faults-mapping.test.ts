/**
 * What a caller sees when a store read fails because PostgreSQL went away while the audit log
 * can still be written: the app's registry and clients live in PostgreSQL behind a TCP proxy the
 * test cuts, its audit log in SQLite. `/v1/*` answers 503 `store_unavailable` with
 * `Retry-After: 2` and a generic message, the token endpoint 503 `temporarily_unavailable`
 * (RFC 6749 §4.1.2.1) — never a 500 — and the refusal is itself an audit event.
 * Skipped unless DATABASE_URL is set and reachable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { createClient } from '../src/auth/index.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/lib/logger.js';
import { openStore, type Store } from '../src/store/index.js';
import { dropSchema, postgresForTests } from './helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const url = await postgresForTests('store-faults-mapping');

describe.skipIf(url === undefined)('a store outage while the audit log is writable', () => {
  const schema = `gatehouse_mapping_${randomBytes(5).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'gh-store-mapping-'));
  let proxy: TcpProxy;
  let pg: Store;
  let sqlite: Store;
  let app: App;
  let reader: string;
  let client: { id: string; secret: string };

  beforeAll(async () => {
    const target = new URL(url ?? '');
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(url ?? '');
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    pg = await openStore({ url: viaProxy.toString(), schema, dataDir: dir });
    sqlite = await openStore({ dataDir: dir });
    // Real backends, each doing what it does: records in PostgreSQL, the audit log in SQLite.
    const store: Store = {
      ...sqlite,
      clients: pg.clients,
      registry: pg.registry,
      close: () => Promise.resolve(),
    };
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        log: { level: 'silent' },
        models: [],
        inference: { moderation: null, promptInjection: null },
        auth: { issuer: 'https://mapping.example' },
      },
    });
    app = await buildApp(config, { logger: createLogger('silent'), store });
    reader = (
      await app.auth.issuer.issue({
        subject: 'auditor-1',
        clientId: 'auditor-1',
        roles: ['auditor'],
        scopes: ['registry:read'],
        ttl: 600,
      })
    ).token;
    const created = await createClient(pg, Date.now, { name: 'svc', roles: ['developer'] });
    client = { id: created.client.id, secret: created.secret ?? '' };
  });

  afterAll(async () => {
    await (app as App | undefined)?.close();
    await sqlite.close();
    await pg.close();
    await proxy.close();
    if (url !== undefined) await dropSchema(url, schema);
    rmSync(dir, { recursive: true, force: true });
  });

  const models = () =>
    app.http.inject({
      method: 'GET',
      url: '/v1/registry/models',
      headers: { authorization: `Bearer ${reader}` },
    });
  const token = () =>
    app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials',
    });

  it('answers 503 store_unavailable with Retry-After on /v1/*, and records it', async () => {
    expect((await models()).statusCode).toBe(200);
    proxy.cut();
    const res = await models();
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    const body = res.json<{ error: { code: string; type: string; message: string } }>();
    expect(body.error).toMatchObject({
      code: 'store_unavailable',
      type: 'service_unavailable_error',
      message: 'The store is unavailable; try again shortly',
    });
    const refused = await sqlite.audit.query({ status: 503 }, undefined, 10);
    expect(refused.map((e) => e.action)).toContain('registry.list');
  });

  it('answers 503 temporarily_unavailable at the token endpoint, not 500', async () => {
    const res = await token();
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'The store is unavailable; try again shortly',
    });
  });

  it('serves again as soon as the database is back', async () => {
    proxy.restore();
    expect((await models()).statusCode).toBe(200);
    expect((await token()).statusCode).toBe(200);
  });
});
