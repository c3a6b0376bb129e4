/**
 * Three replicas as separate `gatehouse serve` processes over one real PostgreSQL (a fresh
 * schema, dropped afterwards), one config file and one data dir, with traffic spread over them:
 * a revocation, a key rotation, a policy change and a registry deploy made through one of them
 * hold on all of them within the sync interval; a refresh token raced on two replicas has one
 * winner and the family dies; `gatehouse audit verify` checks every replica's chain.
 * Skipped unless DATABASE_URL is set and reachable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import { eventually, startReplicas, type Replicas } from './helpers/replicas.js';
import { dropSchema, postgresForTests } from './helpers/postgres.js';

const url = await postgresForTests('replicas');

/** The built-in policy with developer limited to the `echo` model. */
const ECHO_ONLY = builtinPolicyText().replace(
  /(developer:\n {4}scopes:\n(?: {6}- .*\n)+ {4}models:\n) {6}- "\*"\n/,
  '$1      - echo\n',
);

interface Client {
  id: string;
  secret: string;
}
interface Tokens {
  access_token: string;
  refresh_token?: string;
}

describe.skipIf(url === undefined)('three replicas over one PostgreSQL', () => {
  const schema = `gatehouse_replicas_${randomBytes(5).toString('hex')}`;
  let r: Replicas;
  let dev: Client;

  const basic = (c: Client) =>
    `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;

  function tokenAt(base: string, c: Client, params: Record<string, string>) {
    return fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
  }

  async function tokens(base: string, c: Client): Promise<Tokens> {
    const res = await tokenAt(base, c, { grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    return (await res.json()) as Tokens;
  }

  async function client(name: string, roles: string, refresh = false): Promise<Client> {
    const args = ['clients', 'create', '--name', name, '--roles', roles, '--json'];
    const out = await r.cli(refresh ? [...args, '--refresh'] : args);
    expect(out.stderr).toBe('');
    const json = JSON.parse(out.stdout) as { client_id: string; client_secret: string };
    return { id: json.client_id, secret: json.client_secret };
  }

  const get = (base: string, path: string, at: string) =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${at}` } });

  const chat = (base: string, at: string, model: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });

  beforeAll(async () => {
    r = await startReplicas({
      count: 3,
      storeUrl: url ?? '',
      schema,
      syncInterval: 1,
      policyText: builtinPolicyText(),
      config: {
        models: [
          { id: 'echo', backend: 'echo' },
          { id: 'other', backend: 'echo' },
        ],
      },
    });
    dev = await client('dev', 'developer', true);
  }, 120_000);

  afterAll(async () => {
    await (r as Replicas | undefined)?.close();
    if (url !== undefined) await dropSchema(url, schema);
  });

  it('serves one client from any replica: a token from one verifies on the others', async () => {
    const [a, b, c] = r.urls as [string, string, string];
    const { access_token: at } = await tokens(a, dev);
    for (const base of [a, b, c]) expect((await get(base, '/v1/models', at)).status).toBe(200);
  });

  it('refuses on B and C a token revoked on A, within the sync interval', async () => {
    const [a, b, c] = r.urls as [string, string, string];
    const { access_token: at } = await tokens(a, dev);
    // Verified (and cached) everywhere first.
    for (const base of [a, b, c]) expect((await get(base, '/v1/models', at)).status).toBe(200);
    const revoke = await fetch(`${a}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basic(dev), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: at }).toString(),
    });
    expect(revoke.status).toBe(200);
    expect((await get(a, '/v1/models', at)).status).toBe(401);
    await eventually(async () => {
      for (const base of [b, c]) expect((await get(base, '/v1/models', at)).status).toBe(401);
    });
  });

  it('lets exactly one of two replicas rotate a refresh token, and revokes the family', async () => {
    const [a, b, c] = r.urls as [string, string, string];
    const first = await tokens(a, dev);
    const refresh = { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' };
    const raced = await Promise.all([tokenAt(a, dev, refresh), tokenAt(b, dev, refresh)]);
    expect(raced.map((res) => res.status).sort()).toEqual([200, 400]);
    const winner = raced.find((res) => res.status === 200);
    const loser = raced.find((res) => res.status === 400);
    expect(await loser?.json()).toMatchObject({ error: 'invalid_grant' });
    const next = (await winner?.json()) as Tokens;
    // The replay killed the family: the winner's refresh token and access token are dead too.
    const again = await tokenAt(c, dev, {
      grant_type: 'refresh_token',
      refresh_token: next.refresh_token ?? '',
    });
    expect(again.status).toBe(400);
    await eventually(async () => {
      for (const base of [a, b, c])
        expect((await get(base, '/v1/models', next.access_token)).status).toBe(401);
    });
  });

  it('signs with a rotated key on every replica, and each one verifies the others', async () => {
    const out = await r.cli(['keys', 'rotate', '--immediate', '--json']);
    expect(out.code).toBe(0);
    const { kid } = JSON.parse(out.stdout) as { kid: string };
    await eventually(async () => {
      for (const issuing of r.urls) {
        const { access_token: at } = await tokens(issuing, dev);
        expect(decodeProtectedHeader(at).kid).toBe(kid);
        for (const base of r.urls) expect((await get(base, '/v1/models', at)).status).toBe(200);
      }
    });
  });

  it('holds a change of the shared policy file on every replica', async () => {
    const { access_token: at } = await tokens(r.next(), dev);
    for (const base of r.urls) expect((await chat(base, at, 'other')).status).toBe(200);
    writeFileSync(r.policyFile ?? '', ECHO_ONLY);
    await eventually(async () => {
      for (const base of r.urls) {
        expect((await chat(base, at, 'other')).status).toBe(403);
        expect((await chat(base, at, 'echo')).status).toBe(200);
      }
    });
    writeFileSync(r.policyFile ?? '', builtinPolicyText());
    await eventually(async () => {
      for (const base of r.urls) expect((await chat(base, at, 'other')).status).toBe(200);
    });
  });

  it('serves on B and C a version deployed, rolled back and retired on A', async () => {
    const [a, b, c] = r.urls as [string, string, string];
    const eng = (await tokens(a, await client('eng', 'ml-engineer'))).access_token;
    const admin = (await tokens(a, await client('admin', 'admin'))).access_token;
    const { access_token: at } = await tokens(a, dev);
    const send = (method: string, path: string, who: string, body?: unknown) =>
      fetch(`${a}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${who}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const versions = '/v1/registry/models/tuned/versions';
    for (const n of [1, 2]) {
      const bytes = Buffer.from(`echo artifact ${String(n)}`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const put = await fetch(`${a}/v1/registry/blobs/${sha256}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${eng}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(put.status).toBe(201);
      const proposed = await send('POST', versions, eng, {
        backend: 'echo',
        task: 'generation',
        sha256,
        params: {},
      });
      expect(proposed.status).toBe(201);
      expect((await send('POST', `${versions}/${String(n)}/approve`, admin, {})).status).toBe(200);
    }
    const servedVersion = async (base: string): Promise<unknown> => {
      const res = await get(base, '/v1/models/tuned', at);
      if (res.status === 404) return undefined;
      expect(res.status).toBe(200);
      return ((await res.json()) as { gatehouse: { version: unknown } }).gatehouse.version;
    };
    const everywhere = (version: number | undefined) =>
      eventually(async () => {
        for (const base of [a, b, c]) expect(await servedVersion(base)).toBe(version);
      });

    const deploy = (version: number) =>
      send('POST', '/v1/registry/models/tuned/deploy', admin, { version });
    expect((await deploy(1)).status).toBe(200);
    await everywhere(1);
    for (const base of [b, c]) expect((await chat(base, at, 'tuned')).status).toBe(200);
    expect((await deploy(2)).status).toBe(200);
    await everywhere(2);
    expect((await send('POST', '/v1/registry/models/tuned/rollback', admin)).status).toBe(200);
    await everywhere(1);
    expect((await send('POST', `${versions}/1/retire`, admin, {})).status).toBe(200);
    await everywhere(undefined);
  });

  it('checks every replica’s chain with gatehouse audit verify', async () => {
    const { access_token: at } = await tokens(r.next(), dev);
    await Promise.all(
      Array.from({ length: 30 }, () =>
        r.fetch('/v1/models', { headers: { authorization: `Bearer ${at}` } }),
      ),
    );
    const out = await r.cli(['audit', 'verify', '--json']);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as {
      ok: boolean;
      chains: { chain: string; events: number }[];
    };
    expect(report.ok).toBe(true);
    const chains = report.chains.map((ch) => ch.chain);
    expect(chains).toEqual(expect.arrayContaining(['replica-0', 'replica-1', 'replica-2']));
    for (const ch of report.chains.filter((x) => x.chain.startsWith('replica-')))
      expect(ch.events).toBeGreaterThan(5);
  });

  it('kept every replica running without an unhandled rejection', () => {
    for (const replica of r.replicas) {
      expect(replica.alive()).toBe(true);
      expect(replica.output()).not.toMatch(/unhandled|uncaught/i);
    }
  });
});
