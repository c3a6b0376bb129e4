/**
 * `gatehouse models propose|approve|reject|deploy|rollback|retire|history`, run in-process on a
 * temporary data dir: locally (a token minted for `--sub`, through the app's own API, policy and
 * audit) and against a running server with `--url` and a token; the two-person rule holds in
 * both; failures are one line with exit 1, usage errors exit 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { runCli } from '../src/cli/run.js';
import { loadConfig } from '../src/config/index.js';
import { writeTinyGguf } from './support/gguf.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-registry-'));
const data = join(dir, 'data');
const config = join(dir, 'gatehouse.yaml');
let port = 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => {
        resolve(p);
      });
    });
  });
}

async function gatehouse(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const local = ['--config', config, '--data-dir', data];

let artifact: string;
let second: string;

beforeAll(async () => {
  port = await freePort();
  // No model from the config: the registry's versions are all this server serves.
  writeFileSync(
    config,
    `server:\n  port: ${String(port)}\nmodels:\n  - { id: echo, backend: echo }\ninference:\n  moderation: null\n  promptInjection: null\n`,
  );
  artifact = join(dir, 'one.gguf');
  second = join(dir, 'two.gguf');
  await writeTinyGguf(artifact, { seed: 1 });
  await writeTinyGguf(second, { seed: 2 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse models (registry), locally on the data dir', () => {
  it('proposes by uploading the file, and refuses approval by the proposer', async () => {
    const p = await gatehouse(
      'models', 'propose', 'tiny', '--backend', 'llama-cpp', '--file', artifact,
      '--params', '{"threads":1}', '--metadata', '{"eval":0.5}', '--sub', 'alice', '--json', ...local,
    ); // prettier-ignore
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    expect(JSON.parse(p.out)).toMatchObject({ model: 'tiny', version: 1, status: 'proposed' });

    const self = await gatehouse('models', 'approve', 'tiny', '1', '--sub', 'alice', ...local);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/^gatehouse: 403 self-approval: .*[Tt]wo-person rule/);
  });

  it('approves by another identity, deploys, and shows the history', async () => {
    const a = await gatehouse(
      'models',
      'approve',
      'tiny',
      '1',
      '--sub',
      'bob',
      '--reason',
      'ok',
      ...local,
    );
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^approved tiny version 1: approved/);
    const d = await gatehouse('models', 'deploy', 'tiny', '1', '--sub', 'bob', ...local);
    expect(d.err).toBe('');
    expect(d.out).toBe('deploy tiny: version 1 active (was none)');
    const h = await gatehouse('models', 'history', 'tiny', '1', ...local);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^version tiny version 1: active/);
    expect(h.out).toMatch(/— → proposed {2}by alice/);
    expect(h.out).toMatch(/proposed → approved {2}by bob: ok/);
    expect(h.out).toMatch(/approved → active {2}by bob/);
  }, 60_000);

  it('refuses what the policy or the status does not allow, with the rule', async () => {
    // developer holds no models:propose
    const dev = await gatehouse(
      'models', 'propose', 'tiny', '--backend', 'llama-cpp', '--file', second, '--roles', 'developer', ...local,
    ); // prettier-ignore
    expect(dev.code).toBe(1);
    expect(dev.err).toMatch(/^gatehouse: 403/);
    const again = await gatehouse('models', 'approve', 'tiny', '1', '--sub', 'carol', ...local);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/409 invalid-transition/);
    const none = await gatehouse('models', 'rollback', 'tiny', '--sub', 'bob', ...local);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/404/);
  });

  it('refuses bad arguments as usage errors (exit 2)', async () => {
    const cases: string[][] = [
      ['models', 'propose', 'tiny', '--file', artifact],
      ['models', 'propose', 'tiny', '--backend', 'llama-cpp'],
      ['models', 'propose', 'tiny', '--backend', 'x', '--file', artifact, '--path', '/etc/passwd'],
      ['models', 'propose', 'tiny', '--backend', 'x', '--sha256', 'ab', '--params', '[1]'],
      ['models', 'approve', 'tiny', 'one'],
      ['models', 'approve', 'tiny', '0'],
      ['models', 'deploy', 'tiny', '1', '--token', 't'],
      ['models', 'deploy', 'tiny', '1', '--url', 'http://127.0.0.1:1'],
      ['models', 'deploy', 'tiny', '1', '--url', 'ftp://x', '--token', 't'],
      ['models', 'history', 'tiny', '1', '--roles', 'nobody'],
    ];
    for (const args of cases) {
      const r = await gatehouse(...args, ...local);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(/^gatehouse: /);
    }
  });
});

describe('gatehouse models (registry), against a running server', () => {
  let app: App;
  let url: string;
  const token = async (sub: string, roles: string) => {
    const t = await gatehouse(
      'token',
      '--roles',
      roles,
      '--sub',
      sub,
      '--port',
      String(port),
      ...local,
    );
    expect(t.code).toBe(0);
    return t.out;
  };

  beforeAll(async () => {
    app = await buildApp(loadConfig({ file: config, overrides: { dataDir: data } }));
    await app.http.listen({ host: '127.0.0.1', port });
    url = `http://127.0.0.1:${String(port)}`;
  }, 60_000);

  afterAll(async () => {
    await app.close();
  });

  it('serves the version deployed before the start, and switches live on deploy', async () => {
    const list = await app.http.inject({
      method: 'GET',
      url: '/v1/models/tiny',
      headers: { authorization: `Bearer ${await token('dave', 'developer')}` },
    });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ id: 'tiny', gatehouse: { version: 1 } });

    // alice holds admin too: the two-person rule holds whatever the roles.
    const eng = await token('alice', 'ml-engineer,admin');
    const p = await gatehouse(
      'models', 'propose', 'tiny', '--backend', 'llama-cpp', '--file', second, '--url', url, '--token', eng, '--json',
    ); // prettier-ignore
    expect(p.code).toBe(0);
    expect(JSON.parse(p.out)).toMatchObject({ version: 2, status: 'proposed' });
    const admin = await token('bob', 'admin');
    expect(
      (await gatehouse('models', 'approve', 'tiny', '2', '--url', url, '--token', eng)).err,
    ).toMatch(/403 self-approval/);
    expect(
      (await gatehouse('models', 'approve', 'tiny', '2', '--url', url, '--token', admin)).code,
    ).toBe(0);
    const d = await gatehouse('models', 'deploy', 'tiny', '2', '--url', url, '--token', admin);
    expect(d.out).toBe('deploy tiny: version 2 active (was version 1)');
    const now = await app.http.inject({
      method: 'GET',
      url: '/v1/models/tiny',
      headers: { authorization: `Bearer ${await token('dave', 'developer')}` },
    });
    expect(now.json()).toMatchObject({ gatehouse: { version: 2 } });

    const r = await gatehouse('models', 'rollback', 'tiny', '--url', url, '--token', admin);
    expect(r.out).toBe('rollback tiny: version 1 active (was version 2)');

    const auditor = await token('erin', 'auditor');
    const h = await gatehouse(
      'models',
      'history',
      'tiny',
      '--url',
      url,
      '--token',
      auditor,
      '--json',
    );
    expect(h.code).toBe(0);
    const { versions } = JSON.parse(h.out) as { versions: { data: { status: string }[] } };
    expect(versions.data.map((v) => v.status)).toEqual(['active', 'approved']);
    // The auditor reads; it changes nothing.
    const no = await gatehouse('models', 'retire', 'tiny', '2', '--url', url, '--token', auditor);
    expect(no.code).toBe(1);
    expect(no.err).toMatch(/403/);
  }, 90_000);

  it('says what went wrong when the token is refused', async () => {
    const r = await gatehouse('models', 'history', 'tiny', '--url', url, '--token', 'not-a-jwt');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^gatehouse: 401/);
  });
});
