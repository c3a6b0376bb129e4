/**
 * @module test/install.test — what `npm ci` puts on a CPU-only server: the lock file keeps GPU
 * builds and ONNX Runtime out of the production tree, a production install can build `dist/`
 * on its own, and a backend whose package is not installed says what to install.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyGguf } from './support/gguf.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface LockEntry {
  name?: string;
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  link?: boolean;
  engines?: Record<string, string>;
}
interface Manifest {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  overrides?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const entries = [...new Map(Object.entries(lock.packages)).entries()].filter(([p]) => p !== '');

/** The installed name at a lock path: the part after its last `node_modules/`. */
const installedName = (path: string): string => path.slice(path.lastIndexOf('node_modules/') + 13);
/** The package a lock entry really holds (an alias records the real name). */
const realName = (path: string, entry: LockEntry): string => entry.name ?? installedName(path);
/** Installed by `npm ci --omit=dev` (on some platform). */
const production = entries.filter(([, e]) => e.dev !== true);

describe('lock file: the default install is CPU-only', () => {
  it('holds no CUDA or Vulkan build of llama.cpp, anywhere', () => {
    const gpu = entries.filter(([p, e]) => /cuda|vulkan/.test(realName(p, e)));
    expect(gpu.map(([p]) => p)).toEqual([]);
    // Each GPU variant node-llama-cpp names is overridden by a tiny package without getBinsDir().
    for (const [name, spec] of new Map(Object.entries(manifest.overrides ?? {}))) {
      expect(name).toMatch(/^@node-llama-cpp\/.*(cuda|vulkan)/);
      expect(spec).toBe('npm:is-unicode-supported@2.1.0');
    }
  });

  it("keeps node-llama-cpp and its CPU linux-x64 build, at node-llama-cpp's version", () => {
    const nlc = lock.packages['node_modules/node-llama-cpp'];
    const cpu = lock.packages['node_modules/@node-llama-cpp/linux-x64'];
    expect(nlc?.dev).toBeUndefined();
    expect(cpu?.dev).toBeUndefined();
    expect(cpu?.name).toBeUndefined(); // the real package, not an alias
    expect(cpu?.version).toBe(nlc?.version);
    expect(manifest.dependencies['node-llama-cpp']).toBe(nlc?.version); // pinned exactly
  });

  it('keeps ONNX Runtime, transformers.js and sharp out of the production tree', () => {
    const heavy = production.filter(([p, e]) =>
      /^(onnxruntime-|@huggingface\/transformers$|sharp$|@img\/)/.test(realName(p, e)),
    );
    expect(heavy.map(([p]) => p)).toEqual([]);
    expect(manifest.devDependencies['@huggingface/transformers']).toBeDefined();
    expect(manifest.dependencies['@huggingface/transformers']).toBeUndefined();
  });

  it('never runs the install script that downloads CUDA libraries for onnxruntime-node', () => {
    expect(manifest.allowScripts?.['onnxruntime-node']).toBe(false);
  });
});

describe('lock file: a clean install on Node 20 prints no warning worth worrying about', () => {
  it('installs better-sqlite3 13 (Node 22+) only as an optional dependency, skipped on Node 20', () => {
    expect(manifest.optionalDependencies?.['better-sqlite3-napi']).toMatch(/^npm:better-sqlite3@/);
    expect(manifest.dependencies['better-sqlite3-napi']).toBeUndefined();
    expect(lock.packages['node_modules/better-sqlite3-napi']?.optional).toBe(true);
  });

  it('needs Node 22+ in no required package but cookie (light-my-request, see README)', () => {
    const needs22 = entries.filter(
      ([, e]) =>
        e.optional !== true &&
        e.devOptional !== true &&
        /^>=\s*(2[2-9]|[3-9]\d)/.test(e.engines?.node ?? ''),
    );
    expect(needs22.map(([p, e]) => realName(p, e))).toEqual(['cookie']);
  });

  it("tells onnxruntime-node's install script not to fetch CUDA, on every npm", () => {
    const npmrc = join(ROOT, '.npmrc');
    const text = existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '';
    // npm 10 (shipped with Node 20 and 22) ignores allowScripts; these keys reach the script.
    expect(text).toMatch(/^onnxruntime-node-install=skip$/m);
    expect(text).toMatch(/^onnxruntime-node-install-cuda=skip$/m);
  });
});

describe('package.json: npm ci --omit=dev builds and starts the server', () => {
  it('has every tool that prepare and start run among the production dependencies', () => {
    expect(manifest.scripts.prepare).toMatch(/^tsc /);
    expect(manifest.dependencies.typescript).toBeDefined();
    // Type-checking needs @types/* (dev); the production build only emits, without them.
    expect(manifest.scripts.prepare).toContain('--noCheck --types null');
    expect(manifest.scripts.start).toMatch(/^node dist\//);
  });
});

const run = promisify(execFile);

/** Loads `backend` from `path` in a child process in which `hidden` packages are not found. */
async function probe(hidden: string[], backend: string, path: string): Promise<unknown> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/hide-packages.ts',
      'test/support/missing-package-probe.ts',
      backend,
      path,
    ],
    { cwd: ROOT, env: { ...process.env, HIDE_PACKAGES: hidden.join(',') } },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last);
}

const TINY_BERT = fileURLToPath(new URL('../../shared/models/onnx-tiny-bert', import.meta.url));
const HAVE_BERT = existsSync(join(TINY_BERT, 'onnx', 'model.onnx'));

describe('a backend whose package is not installed names what to install', () => {
  let dir: string;
  let gguf: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-install-'));
    gguf = (await writeTinyGguf(join(dir, 'tiny.gguf'))).path;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!HAVE_BERT)('onnx without @huggingface/transformers', async () => {
    expect(await probe(['@huggingface/transformers'], 'onnx', TINY_BERT)).toEqual({
      name: 'ModelUnavailableError',
      code: 'MODEL_UNAVAILABLE',
      message:
        'the onnx backend needs @huggingface/transformers, which is not installed: npm install @huggingface/transformers@3',
    });
  });

  it('llama-cpp without node-llama-cpp', async () => {
    expect(await probe(['node-llama-cpp'], 'llama-cpp', gguf)).toEqual({
      name: 'ModelUnavailableError',
      code: 'MODEL_UNAVAILABLE',
      message:
        'the llama-cpp backend needs node-llama-cpp, which is not installed: npm install node-llama-cpp@3.21.1',
    });
  });

  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')(
    'llama-cpp without its CPU build (@node-llama-cpp/linux-x64)',
    async () => {
      const out = await probe(['@node-llama-cpp/linux-x64'], 'llama-cpp', gguf);
      expect(out).toMatchObject({ name: 'ModelUnavailableError', code: 'MODEL_UNAVAILABLE' });
      expect((out as { message: string }).message).toMatch(
        /no CPU build of llama\.cpp for linux-x64: .*@node-llama-cpp\/\* package .* --omit=optional/,
      );
    },
  );

  it('sqlite without the driver for this Node', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    const driver = major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
    const out = await probe([driver], 'sqlite', join(dir, 'store.db'));
    expect(out).toMatchObject({ name: 'StoreError', code: 'STORE_FAILURE' });
    expect((out as { message: string }).message).toContain(`${driver} `);
  });

  it('loads when nothing is hidden (the probe itself works)', async () => {
    expect(await probe([], 'sqlite', join(dir, 'ok.db'))).toEqual({ loaded: true });
  });
});
