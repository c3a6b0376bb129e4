/**
 * The README's quick start, run as written: its `sh` blocks, in order, in bash, against a real
 * `gatehouse serve` with the default configuration (the bundled models) on a free port. Only
 * the port is changed, `npx gatehouse` runs the CLI from src/ instead of dist/, and each curl
 * answer ends with a newline so that the answers can be told apart.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { digestFile } from '../src/inference/index.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'gh-quickstart-'));
let port = 0;

/** The `sh` blocks of the README's "Quick start" section, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

function freePort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/** This process's environment without GATEHOUSE_* (the walk-through uses the defaults). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  // The data dir a fresh clone would create in ./.gatehouse, kept out of the repository.
  env.GATEHOUSE_DATA_DIR = dir;
  // The port every command (serve, token) defaults to; URLs in the blocks are rewritten to it.
  env.GATEHOUSE_SERVER__PORT = String(port);
  return env;
}

function run(cmd: string, args: string[], input?: string) {
  const child = spawn(cmd, args, { cwd: ROOT, env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  if (input !== undefined) child.stdin.end(input);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

describe('the default configuration', () => {
  it('serves the bundled stories260K from the repository: pinned, CPU, one thread', async () => {
    const models = loadConfig({ env: {} }).models;
    expect(models.map((m) => [m.id, m.backend])).toEqual([
      ['use-lite', 'tfjs'],
      ['stories260K', 'llama-cpp'],
    ]);
    const stories = models[1];
    if (stories?.backend !== 'llama-cpp') throw new Error('expected a llama-cpp model');
    expect(stories.path).toBe(join(ROOT, 'models/stories260K/stories260K.gguf'));
    expect(stories.threads).toBe(1);
    expect(stories.required).toBe(true);
    const { sha256 } = await digestFile(stories.path);
    expect(sha256).toBe(stories.sha256);
    expect(readFileSync(join(ROOT, 'models/stories260K/NOTICE.md'), 'utf8')).toContain(
      'MIT License',
    );
  });
});

describe('README quick start', () => {
  let server: ReturnType<typeof run> | undefined;

  beforeAll(async () => {
    port = await freePort();
    server = run(process.execPath, ['--import', 'tsx', CLI, 'serve']);
  });

  afterAll(async () => {
    if (server !== undefined) {
      server.child.kill('SIGTERM');
      await server.done;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('works when its commands are pasted in order into a shell', async () => {
    const blocks = quickStartBlocks();
    // The first block installs and starts the server: beforeAll stands in for it.
    expect(blocks[0]?.trim()).toBe('npm ci && npm start');
    const rest = blocks.slice(1);
    expect(rest.length).toBeGreaterThanOrEqual(4);
    const script = [
      'set -eo pipefail',
      // One answer per line: curl prints none after a JSON body.
      'curl() { command curl "$@"; local rc=$?; echo; return $rc; }',
      `npx() { if [ "$1" = gatehouse ]; then shift; node --import tsx '${CLI}' "$@"; else command npx "$@"; fi; }`,
      ...rest.map((b, i) => `echo '=== block ${i + 1}'\n${b}`),
      "echo '=== end'",
    ]
      .join('\n')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    const r = await run('bash', ['-s'], script).done;
    expect(r.stderr).not.toMatch(/command not found|unbound variable|gatehouse: /);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split(/^=== /m).slice(1);
    expect(out.at(-1)).toBe('end\n');
    const [credentials, calls, sdk, token] = out;
    expect(JSON.parse(credentials?.split('\n')[1] ?? '')).toMatchObject({
      client_id: expect.stringMatching(/^gh_/),
      client_secret: expect.any(String),
    });
    const lines = (calls ?? '').split('\n').slice(1).filter(Boolean);
    const [models, embeddings, completion, chat] = lines.map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    expect((models?.data as { id: string }[]).map((m) => m.id)).toEqual(
      expect.arrayContaining(['use-lite', 'stories260K']),
    );
    expect((embeddings?.data as { embedding: number[] }[])[0]?.embedding).toHaveLength(512);
    expect(completion).toMatchObject({ object: 'text_completion' });
    // What the README promises at temperature 0.
    expect((completion?.choices as { text: string }[])[0]?.text).toMatch(
      /^, there was a little girl named Lily/,
    );
    expect(chat).toMatchObject({ object: 'chat.completion' });
    expect(
      (chat?.choices as { message: { content: string } }[])[0]?.message.content.length,
    ).toBeGreaterThan(0);
    expect(sdk?.split('\n')[1]?.trim().length).toBeGreaterThan(0);
    expect(token).toContain('"stories260K"');
  }, 180_000);
});
