/**
 * Signing keys shared through PostgreSQL, with no shared data dir: two replicas and the admin
 * CLI, each with a data dir of its own, over one store (a fresh schema, dropped afterwards).
 * The first replica upgrades from a key file of an earlier version (imported once, so tokens it
 * signed before stay valid); the other starts with an empty data dir and signs with the same
 * key; `gatehouse keys rotate` run elsewhere holds on both within auth.revocationSyncInterval.
 * Skipped unless DATABASE_URL is set and reachable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { createClient } from '../src/auth/index.js';
import { KeyRing } from '../src/auth/keyring.js';
import { runCli } from '../src/cli/run.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/lib/logger.js';
import { openStore } from '../src/store/index.js';
import { dropSchema, postgresForTests } from './helpers/postgres.js';
import { basic, form } from './support/app-fixture.js';

const url = await postgresForTests('keys-replicas');
const ISSUER = 'https://ai.example.com';

describe.skipIf(url === undefined)('signing keys shared through PostgreSQL', () => {
  const schema = `gatehouse_keys_${randomBytes(5).toString('hex')}`;
  const root = mkdtempSync(join(tmpdir(), 'gh-keys-replicas-'));
  const dirs = { a: join(root, 'a'), b: join(root, 'b'), cli: join(root, 'cli') };
  let a: App;
  let b: App;
  let client: { id: string; secret: string };
  let legacyKid: string;
  let signedBefore: string;

  const config = (dataDir: string, replicaId: string) => ({
    dataDir,
    log: { level: 'silent' },
    models: [],
    inference: { moderation: null, promptInjection: null },
    store: { url, schema },
    auth: { issuer: ISSUER, revocationSyncInterval: 1 },
    audit: { replicaId },
  });

  beforeAll(async () => {
    // Replica A's data dir as an earlier version left it: keys.json, and a token it signed.
    const scratch = await openStore({ url: 'sqlite::memory:', dataDir: root });
    const old = await KeyRing.open({
      store: scratch.keys,
      masterKey: undefined,
      alg: 'ES256',
      clock: Date.now,
      retention: 3660,
    });
    mkdirSync(dirs.a, { mode: 0o700 });
    const doc = (await scratch.keys.get())?.document ?? '';
    writeFileSync(join(dirs.a, 'keys.json'), JSON.stringify(JSON.parse(doc), null, 2), {
      mode: 0o600,
    });
    await scratch.close();
    legacyKid = old.signingKey().kid;
    const now = Math.floor(Date.now() / 1000);
    signedBefore = await new SignJWT({
      client_id: 'old',
      scope: 'models:read',
      roles: ['developer'],
    })
      .setProtectedHeader({ alg: 'ES256', kid: legacyKid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject('old')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomBytes(8).toString('hex'))
      .sign(old.signingKey().privateKey);

    const logger = createLogger('silent');
    a = await buildApp(loadConfig({ env: {}, overrides: config(dirs.a, 'replica-a') }), { logger });
    b = await buildApp(loadConfig({ env: {}, overrides: config(dirs.b, 'replica-b') }), { logger });
    const created = await createClient(a.store, Date.now, { name: 'svc', roles: ['developer'] });
    client = { id: created.client.id, secret: created.secret ?? '' };
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    if (url !== undefined) await dropSchema(url, schema);
    rmSync(root, { recursive: true, force: true });
  });

  const accessToken = async (app: App): Promise<string> => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: basic(client.id, client.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form({ grant_type: 'client_credentials' }),
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ access_token: string }>().access_token;
  };
  const models = async (app: App, at: string): Promise<number> =>
    (
      await app.http.inject({
        method: 'GET',
        url: '/v1/models',
        headers: { authorization: `Bearer ${at}` },
      })
    ).statusCode;
  const jwksKids = async (app: App): Promise<string[]> =>
    (await app.http.inject({ method: 'GET', url: '/.well-known/jwks.json' }))
      .json<{ keys: { kid: string }[] }>()
      .keys.map((k) => k.kid);

  async function gatehouse(...args: string[]) {
    const file = join(root, 'cli.yaml');
    writeFileSync(file, JSON.stringify(config(dirs.cli, 'cli-host')));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...args, '--config', file], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('imports the upgraded replica’s key file once; the other replica signs with the same key', async () => {
    expect(a.auth.keys.signingKey().kid).toBe(legacyKid);
    expect(b.auth.keys.signingKey().kid).toBe(legacyKid);
    expect(existsSync(join(dirs.a, 'keys.json'))).toBe(false);
    expect(existsSync(join(dirs.a, 'keys.json.imported'))).toBe(true);
    expect(existsSync(join(dirs.b, 'keys.json'))).toBe(false);
    expect(await a.store.keys.revision()).toBe(1);
    // A token signed before the upgrade is still good, on both.
    expect(await models(a, signedBefore)).toBe(200);
    expect(await models(b, signedBefore)).toBe(200);
    expect(await models(a, await accessToken(b))).toBe(200);
    expect(await models(b, await accessToken(a))).toBe(200);
  });

  it('holds a rotation by the CLI on another host on both replicas within the sync interval', async () => {
    const out = await gatehouse('keys', 'rotate', '--immediate', '--json');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const { kid } = JSON.parse(out.stdout) as { kid: string };
    expect(existsSync(join(dirs.cli, 'keys.json'))).toBe(false);
    await vi.waitFor(
      async () => {
        for (const app of [a, b]) {
          expect(app.auth.keys.signingKey().kid).toBe(kid);
          expect(await jwksKids(app)).toEqual([legacyKid, kid]);
        }
      },
      { timeout: 10_000, interval: 200 },
    );
    for (const [issuing, verifying] of [
      [a, b],
      [b, a],
    ] as const) {
      const at = await accessToken(issuing);
      expect(decodeProtectedHeader(at).kid).toBe(kid);
      expect(await models(verifying, at)).toBe(200);
    }
    // The old key stays published until its tokens have expired.
    expect(await models(b, signedBefore)).toBe(200);
    const listed = await gatehouse('keys', 'list', '--json');
    expect((JSON.parse(listed.stdout) as { kid: string }[]).map((k) => k.kid)).toEqual([
      legacyKid,
      kid,
    ]);
  });
});
