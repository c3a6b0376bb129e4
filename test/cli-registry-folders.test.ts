/**
 * `gatehouse models propose --file DIR`: a folder becomes a folder artifact — each file uploaded
 * as a blob, then the manifest, whose digest is proposed — locally on the data dir and against a
 * running server with a token; deployed, it is materialized under `<dataDir>/artifacts/`. A
 * folder with a symlink out of it is refused before anything is sent.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { runCli } from '../src/cli/run.js';
import { loadConfig } from '../src/config/index.js';
import { hashFolder } from '../src/registry/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-folders-'));
const data = join(dir, 'data');
const config = join(dir, 'gatehouse.yaml');
const folder = join(dir, 'model');
const local = ['--config', config, '--data-dir', data];
let port = 0;
let manifestSha = '';

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

beforeAll(async () => {
  port = await freePort();
  writeFileSync(
    config,
    `server:\n  port: ${String(port)}\nlog:\n  level: silent\nmodels:\n  - { id: echo, backend: echo }\ninference:\n  moderation: null\n  promptInjection: null\n`,
  );
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  writeFileSync(join(folder, 'config.json'), '{"model_type":"bert"}');
  writeFileSync(join(folder, 'tokenizer.json'), '{"version":"1.0"}');
  writeFileSync(join(folder, 'onnx', 'model.onnx'), 'not really onnx');
  manifestSha = (await hashFolder(await realpath(folder))).sha256;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse models propose --file DIR', () => {
  it('locally: uploads each file, then the manifest, and proposes the manifest digest', async () => {
    const p = await gatehouse(
      'models', 'propose', 'folded', '--backend', 'echo', '--file', folder, '--sub', 'alice', ...local,
    ); // prettier-ignore
    expect(p.code).toBe(0);
    expect(p.err).toMatch(/^uploaded folder .*: 3 files, \d+ bytes; manifest sha256 [0-9a-f]{64}$/);
    expect(p.out).toBe(`proposed folded version 1: proposed (sha256 ${manifestSha})`);
    // Every file and the manifest are blobs now.
    const blobs = readdirSync(join(data, 'blobs'), { recursive: true }).filter((n) =>
      /[0-9a-f]{64}$/.test(String(n)),
    );
    expect(blobs).toHaveLength(4);
  });

  it('refuses a folder with a symlink out of it, sending nothing', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'model.json'), '{}');
    symlinkSync(config, join(bad, 'leak'));
    const p = await gatehouse(
      'models', 'propose', 'folded', '--backend', 'echo', '--file', bad, '--sub', 'alice', ...local,
    ); // prettier-ignore
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/symlink out of the folder/);
  });

  describe('against a running server', () => {
    let app: App;
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
    }, 60_000);
    afterAll(async () => {
      await app.close();
    });

    it('proposes the same folder to the same digest; deployed, it is materialized', async () => {
      const url = `http://127.0.0.1:${String(port)}`;
      const eng = await token('carol', 'ml-engineer');
      const p = await gatehouse(
        'models', 'propose', 'folded', '--backend', 'echo', '--file', folder, '--url', url, '--token', eng, '--json',
      ); // prettier-ignore
      expect(p.code).toBe(0);
      expect(JSON.parse(p.out)).toMatchObject({ version: 2, sha256: manifestSha });
      const admin = await token('bob', 'admin');
      const a = await gatehouse('models', 'approve', 'folded', '2', '--url', url, '--token', admin);
      expect(a.code).toBe(0);
      const d = await gatehouse('models', 'deploy', 'folded', '2', '--url', url, '--token', admin);
      expect(d.err).toBe('');
      expect(d.out).toBe('deploy folded: version 2 active (was none)');
      const placed = join(data, 'artifacts', manifestSha);
      expect(readdirSync(placed).sort()).toEqual(['config.json', 'onnx', 'tokenizer.json']);
    }, 60_000);
  });
});
