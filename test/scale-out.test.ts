/**
 * Two replicas behind one PostgreSQL share clients, refresh families and revocations: a token
 * from one verifies on the other, a revocation on one reaches the other, and a refresh race
 * across replicas has exactly one winner. Skipped unless DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { createClient, revokeClient } from '../src/auth/index.js';
import { verifyAudit } from '../src/audit/index.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/lib/logger.js';
import { openStore } from '../src/store/index.js';
import { basic, form } from './support/app-fixture.js';

const url = process.env.DATABASE_URL ?? '';
if (url === '') {
  console.warn(
    'scale-out: skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run',
  );
}

describe.skipIf(url === '')('replicas over PostgreSQL', () => {
  const schema = `gatehouse_replicas_${randomBytes(5).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'gh-replicas-'));
  let a: App;
  let b: App;
  let client: { id: string; secret: string };

  beforeAll(async () => {
    // Replicas share the public issuer URL, the store and the signing-key file; each keeps its
    // own audit chain.
    const config = (replicaId: string) =>
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          log: { level: 'silent' },
          models: [],
          inference: { moderation: null, promptInjection: null },
          store: { url, schema },
          auth: { issuer: 'https://ai.example.com', revocationSyncInterval: 1 },
          audit: { replicaId },
        },
      });
    a = await buildApp(config('replica-a'), { logger: createLogger('silent') });
    b = await buildApp(config('replica-b'), { logger: createLogger('silent') });
    const created = await createClient(a.store, Date.now, {
      name: 'svc',
      roles: ['developer'],
      allowRefresh: true,
    });
    client = { id: created.client.id, secret: created.secret ?? '' };
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  async function token(app: App, params: Record<string, string>, as = client) {
    return app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: basic(as.id, as.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form(params),
    });
  }

  const models = (app: App, at: string) =>
    app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${at}` },
    });

  it('a client registered on one replica gets tokens that the other accepts', async () => {
    const res = await token(b, { grant_type: 'client_credentials' });
    expect(res.statusCode).toBe(200);
    const at = res.json<{ access_token: string }>().access_token;
    expect((await models(a, at)).statusCode).toBe(200);
  });

  it('a revocation made on one replica reaches the other', async () => {
    const at = (await token(a, { grant_type: 'client_credentials' })).json<{
      access_token: string;
    }>().access_token;
    expect((await models(b, at)).statusCode).toBe(200); // now cached on b
    const revoke = await a.http.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: {
        authorization: basic(client.id, client.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form({ token: at }),
    });
    expect(revoke.statusCode).toBe(200);
    await b.auth.revocations.sync(Math.floor(Date.now() / 1000));
    expect((await models(b, at)).statusCode).toBe(401);
  });

  it('a refresh race across replicas has exactly one winner, and the replay kills the family', async () => {
    const first = (await token(a, { grant_type: 'client_credentials' })).json<{
      refresh_token: string;
    }>();
    const results = await Promise.all([
      token(a, { grant_type: 'refresh_token', refresh_token: first.refresh_token }),
      token(b, { grant_type: 'refresh_token', refresh_token: first.refresh_token }),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 400]);
    const winner = results.find((r) => r.statusCode === 200)!;
    const loser = results.find((r) => r.statusCode === 400)!;
    expect(loser.json()).toMatchObject({ error: 'invalid_grant' });
    // The loser was a replay, so the winner's new tokens are revoked along with the family.
    const next = winner.json<{ refresh_token: string; access_token: string }>();
    expect(
      (await token(b, { grant_type: 'refresh_token', refresh_token: next.refresh_token }))
        .statusCode,
    ).toBe(400);
    await a.auth.revocations.sync(Math.floor(Date.now() / 1000));
    await b.auth.revocations.sync(Math.floor(Date.now() / 1000));
    expect((await models(a, next.access_token)).statusCode).toBe(401);
    expect((await models(b, next.access_token)).statusCode).toBe(401);
  });

  it('revoking a client from another store handle stops its tokens on both replicas', async () => {
    const created = await createClient(a.store, Date.now, {
      name: 'doomed',
      roles: ['developer'],
      allowRefresh: true,
    });
    const doomed = { id: created.client.id, secret: created.secret ?? '' };
    const fromA = (await token(a, { grant_type: 'client_credentials' }, doomed)).json<{
      access_token: string;
      refresh_token: string;
    }>();
    const fromB = (await token(b, { grant_type: 'client_credentials' }, doomed)).json<{
      access_token: string;
      refresh_token: string;
    }>();
    // Both verified (and cached) on both replicas first.
    for (const app of [a, b])
      for (const t of [fromA, fromB])
        expect((await models(app, t.access_token)).statusCode).toBe(200);
    // As the CLI does it: its own connection to the shared database.
    const admin = await openStore({ url, schema, dataDir: dir });
    try {
      await revokeClient(admin, Date.now, doomed.id);
    } finally {
      await admin.close();
    }
    const now = Math.floor(Date.now() / 1000);
    await a.auth.revocations.sync(now);
    await b.auth.revocations.sync(now);
    for (const app of [a, b]) {
      for (const t of [fromA, fromB]) {
        expect((await models(app, t.access_token)).statusCode).toBe(401);
        const r = await token(
          app,
          { grant_type: 'refresh_token', refresh_token: t.refresh_token },
          doomed,
        );
        expect(r.statusCode).toBe(401);
      }
    }
    // The other client carries on.
    const ok = (await token(b, { grant_type: 'client_credentials' })).json<{
      access_token: string;
    }>();
    expect((await models(a, ok.access_token)).statusCode).toBe(200);
  });

  it('each replica records into its own chain in the one store, and verify checks both', async () => {
    const at = (await token(a, { grant_type: 'client_credentials' })).json<{
      access_token: string;
    }>().access_token;
    await Promise.all(Array.from({ length: 20 }, (_, i) => models(i % 2 === 0 ? a : b, at)));
    const report = await verifyAudit(a.store.audit, a.auth.keys.auditJwks());
    expect(report.ok).toBe(true);
    const chains = report.chains.map((c) => c.chain);
    expect(chains).toEqual(expect.arrayContaining(['replica-a', 'replica-b']));
    for (const c of report.chains) expect(c.events).toBeGreaterThan(10);
    // Over HTTP too, from either replica, for an auditor.
    const { token: auditor } = await b.auth.issuer.issue({
      subject: 'auditor-1',
      clientId: 'gh_audit',
      scopes: ['audit:read'],
      roles: ['auditor'],
      ttl: 300,
    });
    const res = await b.http.inject({
      method: 'GET',
      url: '/v1/audit/verify',
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ ok: boolean; chains: { chain: string }[] }>()).toMatchObject({ ok: true });
  });
});
