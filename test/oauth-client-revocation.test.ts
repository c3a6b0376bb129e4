/**
 * `gatehouse clients revoke ID` stops the client at once: its access tokens are refused — also
 * those whose verification is cached — and its refresh tokens no longer work, on a server that
 * shares the data dir, within one revocation sync. (PostgreSQL replicas: scale-out.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { basic, form, startApp, type Fixture, modelsStatus } from './support/app-fixture.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '../src/cli/main.ts')];

interface TokenBody {
  access_token: string;
  refresh_token: string;
}

function token(f: Fixture, c: { id: string; secret: string }, params: Record<string, string>) {
  return f.app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      authorization: basic(c.id, c.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: form(params),
  });
}

/** Runs `gatehouse clients revoke ID` in its own process, on the fixture's data dir. */
function cliRevoke(f: Fixture, id: string): void {
  const r = spawnSync(process.execPath, [...CLI, 'clients', 'revoke', id, '--data-dir', f.dir], {
    encoding: 'utf8',
    env: { ...process.env },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe('revoking a client (SQLite, CLI in another process)', () => {
  let f: Fixture;
  // Real time, so that the server's own sync timer (1 s) does the work in the last case.
  beforeAll(async () => {
    f = await startApp({ realClock: true, config: { auth: { revocationSyncInterval: 1 } } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('refuses its access tokens (cached ones too) and its refresh tokens after one sync', async () => {
    const c = await f.client({ allowRefresh: true });
    const other = await f.client({ allowRefresh: true });
    const t = (await token(f, c, { grant_type: 'client_credentials' })).json<TokenBody>();
    const o = (await token(f, other, { grant_type: 'client_credentials' })).json<TokenBody>();
    expect(await modelsStatus(f, t.access_token)).toBe(200); // verification now cached
    cliRevoke(f, c.id);
    await f.app.auth.revocations.sync(Math.floor(Date.now() / 1000));
    expect(await modelsStatus(f, t.access_token)).toBe(401);
    const again = await token(f, c, {
      grant_type: 'refresh_token',
      refresh_token: t.refresh_token,
    });
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ error: 'invalid_client' });
    // Nobody else is touched.
    expect(await modelsStatus(f, o.access_token)).toBe(200);
    expect(
      (await token(f, other, { grant_type: 'refresh_token', refresh_token: o.refresh_token }))
        .statusCode,
    ).toBe(200);
  });

  it('reaches the server through its own sync timer, within the sync interval', async () => {
    const c = await f.client();
    const t = (await token(f, c, { grant_type: 'client_credentials' })).json<TokenBody>();
    expect(await modelsStatus(f, t.access_token)).toBe(200);
    cliRevoke(f, c.id);
    await vi.waitFor(
      async () => {
        expect(await modelsStatus(f, t.access_token)).toBe(401);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('introspection reports the revoked client’s token inactive', async () => {
    const c = await f.client();
    const t = (await token(f, c, { grant_type: 'client_credentials' })).json<TokenBody>();
    const admin = await f.client({ roles: ['admin'] });
    cliRevoke(f, c.id);
    await f.app.auth.revocations.sync(Math.floor(Date.now() / 1000));
    const res = await f.app.http.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: {
        authorization: basic(admin.id, admin.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form({ token: t.access_token }),
    });
    expect(res.json()).toEqual({ active: false });
  });
});
