import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '../src/cli/main.ts')];
const root = mkdtempSync(join(tmpdir(), 'gh-models-'));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking the event loop (the test server lives in this process). */
function gatehouse(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gatehouse models list', () => {
  const config = join(root, 'gatehouse.yaml');
  beforeAll(() => {
    // No tfjs model (slow to load); the default classifiers then have no base model.
    writeFileSync(
      config,
      [
        'models:',
        '  - id: echo-chat',
        '    backend: echo',
        '  - id: echo-embed',
        '    backend: echo',
        '    task: embedding',
        '  - id: broken-onnx',
        '    backend: onnx',
        `    path: ${join(root, 'no-such-folder')}`,
        `    sha256: ${'ab'.repeat(32)}`,
        '',
      ].join('\n'),
    );
  });

  it('loads the configured models and reports each one, failures with their reason', async () => {
    const r = await gatehouse('models', 'list', '--json', '--config', config);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get('echo-chat')).toMatchObject({
      kind: 'model',
      backend: 'echo',
      task: 'generation',
      status: 'loaded',
      error: null,
      contextSize: 4096,
    });
    expect(byId.get('echo-chat')?.loadMs).toEqual(expect.any(Number));
    expect(byId.get('echo-embed')).toMatchObject({ task: 'embedding', dimensions: 64 });
    expect(byId.get('broken-onnx')).toMatchObject({ backend: 'onnx', status: 'failed' });
    expect(String(byId.get('broken-onnx')?.error)).toMatch(/no-such-folder does not exist/);
    // The built-in classifiers need 'use-lite', which this config does not load.
    expect(byId.get('moderation')).toMatchObject({ kind: 'classifier', status: 'failed' });
    expect(rows.slice(0, 3).map((row) => row.id)).toEqual([
      'echo-chat',
      'echo-embed',
      'broken-onnx',
    ]);
  });

  it('prints an aligned table by default', async () => {
    const r = await gatehouse('models', 'list', '--config', config);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+BACKEND\s+TASK\s+STATUS\s+SHA256\s+SIZE\s+LOAD\s+RSS\s+DETAILS$/,
    );
    const status = lines[0]!.indexOf('STATUS');
    const echo = lines.find((l) => l.startsWith('echo-chat'))!;
    const onnx = lines.find((l) => l.startsWith('broken-onnx'))!;
    expect(echo.slice(status)).toMatch(/^loaded /);
    expect(onnx.slice(status)).toMatch(/^failed /);
    expect(onnx).toMatch(/does not exist$/);
  });
});

describe('gatehouse models pull', () => {
  const data = randomBytes(3 * 1024 * 1024 + 123);
  const digest = createHash('sha256').update(data).digest('hex');
  let mode: 'normal' | 'drop-half' | 'ignore-range' = 'normal';
  let requests: { url: string; range: string | undefined }[] = [];
  let server: Server;
  let base = '';
  let dir = '';

  function serve(req: IncomingMessage, res: ServerResponse): void {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (mode === 'drop-half') {
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, data.length >> 1), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (mode === 'normal' && m !== null) {
      const start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': data.length - start,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
      });
      res.end(data.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'none' });
    res.end(data);
  }

  beforeAll(async () => {
    server = createServer(serve);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    mode = 'normal';
    requests = [];
    dir = mkdtempSync(join(root, 'pull-'));
  });

  const pull = (path: string, ...args: string[]): Promise<Result> =>
    gatehouse('models', 'pull', `${base}${path}`, '--dir', dir, ...args);

  it('downloads, verifies the digest, puts the file in place and prints the config entry', async () => {
    const r = await pull('/files/tiny-model.Q8_0.gguf', '--sha256', digest.toUpperCase());
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const file = join(dir, 'tiny-model.Q8_0.gguf');
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(existsSync(`${file}.part`)).toBe(false);
    expect(r.stdout).toContain(`sha256 ${digest} verified`);
    expect(r.stdout).toMatch(/models:\n {2}- id: tiny-model.Q8_0\n {4}backend: llama-cpp\n/);
    expect(r.stdout).toContain(`path: ${file}`);
    expect(r.stdout).toContain(`sha256: ${digest}`);
    // Not a terminal: plain progress lines, at most one per 10 %.
    const lines = r.stderr.split('\n').filter((l) => l.includes('%'));
    expect(lines.at(-1)).toMatch(/^100% {2}3\.0 MiB \/ 3\.0 MiB/);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(requests).toHaveLength(1);
  });

  it('keeps the .part of an interrupted download and resumes it with a Range request', async () => {
    mode = 'drop-half';
    const first = await pull('/m.gguf', '--sha256', digest);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/interrupted.*run the same command again to resume/);
    const part = join(dir, 'm.gguf.part');
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(data.length);
    expect(existsSync(join(dir, 'm.gguf'))).toBe(false);

    mode = 'normal';
    const second = await pull('/m.gguf', '--sha256', digest);
    expect(second.code).toBe(0);
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(second.stderr).toMatch(/resuming from/);
    expect(readFileSync(join(dir, 'm.gguf')).equals(data)).toBe(true);
    expect(existsSync(part)).toBe(false);
  });

  it('refuses a file whose digest does not match, and leaves nothing behind', async () => {
    const wrong = 'ab'.repeat(32);
    const r = await pull('/m.gguf', '--sha256', wrong);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected ${wrong}, got ${digest}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('restarts from zero when the server ignores the Range header', async () => {
    writeFileSync(join(dir, 'm.gguf.part'), Buffer.alloc(1000, 7));
    mode = 'ignore-range';
    const r = await pull('/m.gguf', '--sha256', digest);
    expect(r.code).toBe(0);
    expect(requests).toEqual([{ url: '/m.gguf', range: 'bytes=1000-' }]);
    expect(r.stderr).toMatch(/restarting from zero/);
    expect(readFileSync(join(dir, 'm.gguf')).equals(data)).toBe(true);
    expect(readdirSync(dir)).toEqual(['m.gguf']);
  });

  it('makes no request when the file is already there with the right digest', async () => {
    writeFileSync(join(dir, 'm.gguf'), data);
    const r = await pull('/m.gguf', '--sha256', digest);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/already present.*nothing downloaded/);
    expect(requests).toEqual([]);
  });

  it('does not overwrite a different file unless --force is given', async () => {
    const file = join(dir, 'm.gguf');
    writeFileSync(file, 'something else');
    const r = await pull('/m.gguf', '--sha256', digest);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists with sha256 [0-9a-f]{64}.*--force/);
    expect(readFileSync(file, 'utf8')).toBe('something else');
    expect(requests).toEqual([]);
    const forced = await pull('/m.gguf', '--sha256', digest, '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(file).equals(data)).toBe(true);
  });

  it('keeps the file inside the output folder whatever the URL path says', async () => {
    const outside = join(dir, '..');
    const before = readdirSync(outside).sort();
    mkdirSync(join(dir, 'inner'));
    const inner = join(dir, 'inner');
    for (const path of [
      '/a/..%2F..%2Fescape.gguf',
      '/a/%2e%2e/%2e%2e/escape2.gguf',
      '/x/..%5C..%5Cescape3.gguf',
    ]) {
      const r = await gatehouse(
        'models',
        'pull',
        `${base}${path}`,
        '--dir',
        inner,
        '--sha256',
        digest,
      );
      expect(r.code).toBe(0);
    }
    expect(readdirSync(inner).sort()).toEqual(['escape.gguf', 'escape2.gguf', 'escape3.gguf']);
    expect(readdirSync(dir)).toEqual(['inner']);
    expect(readdirSync(outside).sort()).toEqual(before);
    // A path that is nothing but dots names no file at all.
    const dots = await gatehouse(
      'models',
      'pull',
      `${base}/a/..%2F..`,
      '--dir',
      inner,
      '--sha256',
      digest,
    );
    expect(dots.code).toBe(2);
    expect(dots.stderr).toMatch(/names no file/);
  });

  it('refuses non-http URLs and a missing digest with a usage error', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/m.gguf', 'data:,hello']) {
      const r = await gatehouse('models', 'pull', url, '--dir', dir, '--sha256', digest);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/only http: and https:/);
    }
    const r = await pull('/m.gguf');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sha256/);
    expect(requests).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('suggests an onnx folder entry for an .onnx file', async () => {
    const r = await pull('/model.onnx', '--sha256', digest, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { config: Record<string, string>; note: string };
    expect(result.config).toEqual({
      id: 'model',
      backend: 'onnx',
      path: join(dir, 'model'),
      sha256: digest,
    });
    expect(result.note).toMatch(/folder.*onnx\/model\.onnx/);
  });
});
