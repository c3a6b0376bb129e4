/**
 * @module inference/registry-serving.test — registry versions served for real: echo versions
 * told apart by their context window, GGUFs the test writes and the shared stories260K; a swap
 * under concurrent load, refused artifacts and params, retire, and `registry.requireDigest`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyGguf } from '../../test/support/gguf.js';
import { modelSpec } from '../../test/support/model-spec.js';
import type { ServingVersion } from '../registry/index.js';
import { digestFile, ModelArtifactError } from './artifact.js';
import { ModelNotFoundError, ModelParamsInvalidError } from './errors.js';
import { InferenceRegistryServing } from './registry-serving.js';
import { ServedModels, unpinned, type ServedModelsDeps } from './served-models.js';
import { InferenceService, type CallContext } from './service.js';

const STORIES = fileURLToPath(
  new URL('../../../shared/models/stories260K/stories260K.gguf', import.meta.url),
);
const haveStories = existsSync(STORIES);
if (!haveStories) console.warn(`registry-serving: using a second random GGUF, ${STORIES} absent`);

const NO_CLASSIFIERS = { moderation: null, promptInjection: null };
let dir: string;
const logs: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const deps: ServedModelsDeps = {
  log: (level, obj, msg) => {
    logs.push({ level, obj, msg });
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-registry-serving-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(served = new ServedModels()) {
  const service = new InferenceService(served);
  const serving = new InferenceRegistryServing(served, NO_CLASSIFIERS, deps);
  return { served, service, serving };
}

let versions = 0;
/** A version of `model` whose artifact is `file` (digested now), with `over` on top. */
async function versionOf(
  model: string,
  file: string,
  over: Partial<ServingVersion> = {},
): Promise<ServingVersion> {
  const { sha256, sizeBytes } = await digestFile(file);
  versions++;
  return {
    model,
    versionId: `v-${String(versions)}`,
    version: versions,
    backend: 'echo',
    task: 'generation',
    sha256,
    size: sizeBytes,
    artifactPath: file,
    params: {},
    ...over,
  };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const ctx = (identity = 'u'): CallContext => ({ identity, signal: new AbortController().signal });
const WORDS = Array.from({ length: 30 }, (_, i) => `w${String(i)}`).join(' ');

describe('deploying a version while requests are in flight', () => {
  it('answers every request: those started before on the old version, the rest on the new', async () => {
    let settledOld = 0;
    let settledWhenFreed = -1;
    const served = new ServedModels();
    const service = new InferenceService(served);
    const serving = new InferenceRegistryServing(served, NO_CLASSIFIERS, {
      log: (level, obj, msg) => {
        if (msg === 'replaced version drained and freed' && obj.versionId === v1.versionId)
          settledWhenFreed = settledOld;
      },
    });
    // Same prompt, 30 words: v1's window (4096) echoes all 30, v2's (40) leaves room for 10.
    const v1 = await versionOf('chat', await file('echo-1', 'echo v1'), {
      params: { slots: 2, delayMs: 3 },
    });
    const v2 = await versionOf('chat', await file('echo-2', 'echo v2'), {
      params: { slots: 2, delayMs: 3, contextSize: 40 },
    });
    (await serving.prepare(v1)).commit();
    const answeredBy: (string | undefined)[] = [];
    const ask = (i: number) =>
      service.generate(
        'chat',
        { prompt: WORDS, maxTokens: 30 },
        {
          ...ctx(`u${String(i % 4)}`),
          onModel: (m) => answeredBy.push(m.version?.versionId),
        },
      );
    const before = Array.from({ length: 16 }, (_, i) =>
      ask(i).finally(() => {
        settledOld++;
      }),
    );
    const prepared = await serving.prepare(v2);
    const inFlight = before.length - settledOld;
    prepared.commit();
    expect(serving.served('chat')).toEqual({
      versionId: v2.versionId,
      version: v2.version,
      sha256: v2.sha256,
    });
    const after = Array.from({ length: 16 }, (_, i) => ask(i));
    const results = await Promise.allSettled([...before, ...after]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const words = results.map((r) => (r.status === 'fulfilled' ? r.value.completionTokens : -1));
    expect(inFlight).toBeGreaterThan(8); // most were queued or running at the swap
    expect(words.slice(0, 16)).toEqual(Array<number>(16).fill(30));
    expect(words.slice(16)).toEqual(Array<number>(16).fill(10));
    // What the audit and receipts are told: the version each request was looked up on.
    expect(answeredBy).toEqual([
      ...Array<string>(16).fill(v1.versionId),
      ...Array<string>(16).fill(v2.versionId),
    ]);
    // The old version was freed only once its last request had been answered.
    await served.close();
    expect(settledWhenFreed).toBe(16);
  });

  it('swaps GGUF versions on llama.cpp under load with zero failures, then retire frees it', async () => {
    const { served, service, serving } = setup();
    const tiny = await writeTinyGguf(join(dir, 'tiny.gguf'), { seed: 7 });
    const second = haveStories
      ? STORIES
      : (await writeTinyGguf(join(dir, 'tiny-2.gguf'), { seed: 8 })).path;
    const params = { threads: 1, slots: 1, contextSize: 256 };
    const v1 = await versionOf('llm', tiny.path, { backend: 'llama-cpp', params });
    const v2 = await versionOf('llm', second, { backend: 'llama-cpp', params });
    const req = { prompt: 'Once upon a time', maxTokens: 12, temperature: 0 };
    (await serving.prepare(v1)).commit();
    const ref1 = (await service.generate('llm', req, ctx())).text;
    const before = Array.from({ length: 6 }, (_, i) =>
      service.generate('llm', req, ctx(`a${String(i)}`)),
    );
    (await serving.prepare(v2)).commit();
    const after = Array.from({ length: 6 }, (_, i) =>
      service.generate('llm', req, ctx(`b${String(i)}`)),
    );
    const results = await Promise.allSettled([...before, ...after]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const texts = results.map((r) => (r.status === 'fulfilled' ? r.value.text : ''));
    const ref2 = texts[6 + 5];
    expect(ref2).not.toBe(ref1);
    expect(texts).toEqual([...Array<string>(6).fill(ref1), ...Array<string>(6).fill(ref2 ?? '')]);
    expect(service.lookup('llm').info).toMatchObject({ sha256: v2.sha256, sizeBytes: v2.size });

    const held = service.lookup('llm');
    await serving.retire('llm', v1.versionId); // not the served one: nothing changes
    expect(serving.served('llm')?.versionId).toBe(v2.versionId);
    await serving.retire('llm', v2.versionId);
    expect(serving.served('llm')).toBeUndefined();
    expect(() => service.lookup('llm')).toThrow(ModelNotFoundError);
    expect(served.status()).toEqual([]);
    // Its llama.cpp context is gone: the handle cannot generate any more.
    if (held.handle.task !== 'generation') throw new Error('not a generator');
    await expect(
      held.handle.generate({ ...req, signal: new AbortController().signal }, () => undefined),
    ).rejects.toThrow();
    await served.close();
  });
});

describe('prepare refuses what may not be served, and nothing served changes', () => {
  it('refuses a file whose bytes are not the approved ones (replaced by hand)', async () => {
    const { service, serving } = setup();
    const path = await file('echo-swapped', 'approved bytes');
    const v1 = await versionOf('chat', path);
    (await serving.prepare(v1)).commit();
    const v2 = await versionOf('chat', path);
    await writeFile(path, 'bytes put in place by hand');
    await expect(serving.prepare(v2)).rejects.toThrow(ModelArtifactError);
    await expect(serving.prepare(v2)).rejects.toThrow(/sha256 mismatch/);
    expect(serving.served('chat')?.versionId).toBe(v1.versionId);
    expect((await service.generate('chat', { prompt: 'still v1', maxTokens: 4 }, ctx())).text).toBe(
      'still v1',
    );
  });

  it('refuses a missing artifact', async () => {
    const { serving } = setup();
    const v = await versionOf('chat', await file('echo-gone', 'x'), {
      artifactPath: join(dir, 'no-such-blob'),
    });
    await expect(serving.prepare(v)).rejects.toThrow(ModelArtifactError);
  });

  it('refuses invalid params with a 400 that names the key', async () => {
    const { serving } = setup();
    const path = await file('echo-params', 'p');
    const cases: [Partial<ServingVersion>, RegExp][] = [
      [{ params: { slots: 0 } }, /params\.slots: /],
      [{ params: { bogus: 1 } }, /bogus/],
      [{ params: { path: '/etc/passwd' } }, /params\.path is set by the version itself/],
      [{ backend: 'llama-cpp', task: 'embedding' }, /llama-cpp serves generation, not embedding/],
      [{ backend: 'no-such-backend' }, /^version \d+ of model chat: backend: /],
    ];
    for (const [over, message] of cases) {
      const err = await serving
        .prepare(await versionOf('chat', path, over))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelParamsInvalidError);
      expect(err).toMatchObject({ statusCode: 400, message: expect.stringMatching(message) });
    }
    expect(serving.served('chat')).toBeUndefined();
  });

  it('reads the hub task names as this server names tasks', async () => {
    const { service, serving } = setup();
    const v = await versionOf('hub', await file('echo-hub', 'h'), { task: 'text-generation' });
    (await serving.prepare(v)).commit();
    expect(service.lookup('hub').handle.task).toBe('generation');
  });

  it('abort leaves what is served as it was', async () => {
    const { service, serving } = setup();
    const v1 = await versionOf('chat', await file('echo-a1', 'a1'));
    (await serving.prepare(v1)).commit();
    const prepared = await serving.prepare(await versionOf('chat', await file('echo-a2', 'a2')));
    await prepared.abort();
    expect(serving.served('chat')?.versionId).toBe(v1.versionId);
    expect(() => {
      prepared.commit();
    }).toThrow(/after abort/);
    expect(service.lookup('chat').version?.versionId).toBe(v1.versionId);
  });

  it('does not swap the model a few-shot classifier is built on', async () => {
    const served = new ServedModels();
    const serving = new InferenceRegistryServing(
      served,
      { moderation: { model: 'use-lite' }, promptInjection: null },
      deps,
    );
    const v = await versionOf('use-lite', await file('echo-c', 'c'), { task: 'embedding' });
    await expect(serving.prepare(v)).rejects.toThrow(/few-shot classifier/);
  });
});

describe('a version over a config model of the same id', () => {
  it('replaces it at deploy: new requests get the version, the config model is freed', async () => {
    const config = modelSpec({ id: 'chat', backend: 'echo' });
    const { served, service, serving } = setup(new ServedModels([config]));
    await served.load(deps);
    expect(service.lookup('chat').version).toBeUndefined();
    const v = await versionOf('chat', await file('echo-over', 'o'), {
      params: { contextSize: 40 },
    });
    (await serving.prepare(v)).commit();
    const r = await service.generate('chat', { prompt: WORDS, maxTokens: 30 }, ctx());
    expect(r.completionTokens).toBe(10);
    expect(served.status()).toEqual([{ id: 'chat', state: 'ready', required: true }]);
    await served.close();
  });
});

describe('registry.requireDigest', () => {
  it('refuses a config model whose file has no sha256, with a reason naming the option', async () => {
    const gguf = await writeTinyGguf(join(dir, 'unpinned.gguf'), { seed: 3 });
    const spec = modelSpec({ id: 'loose', backend: 'llama-cpp', path: gguf.path, threads: 1 });
    const strict = new ServedModels([spec]);
    await strict.load(deps);
    expect(strict.status()).toEqual([
      {
        id: 'loose',
        state: 'failed',
        required: true,
        reason: 'model file has no sha256 and registry.requireDigest is true',
      },
    ]);
    expect(strict.failed()[0]?.error).toMatch(/registry\.requireDigest: false/);
    await strict.close();
  });

  it('serves it with a start-up warning when the option is false; a pinned one without', async () => {
    const gguf = await writeTinyGguf(join(dir, 'warned.gguf'), { seed: 4 });
    const loose = modelSpec({ id: 'loose', backend: 'llama-cpp', path: gguf.path, threads: 1 });
    const pinned = { ...loose, id: 'pinned', sha256: gguf.sha256 };
    const served = new ServedModels([loose, pinned], { requireDigest: false });
    const start = logs.length;
    await served.load(deps);
    expect(served.status().map((s) => s.state)).toEqual(['ready', 'ready']);
    const warnings = logs.slice(start).filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        obj: { model: 'loose', backend: 'llama-cpp' },
        msg: 'model served unpinned: its file has no sha256 and registry.requireDigest is false',
      },
    ]);
    await served.close();
  });

  it('counts the bundled USE-lite and echo as pinned, a tfjs path without sha256 not', () => {
    expect(unpinned(modelSpec({ id: 'use-lite', backend: 'tfjs' }))).toBe(false);
    expect(unpinned(modelSpec({ id: 'e', backend: 'echo' }))).toBe(false);
    expect(unpinned(modelSpec({ id: 'own', backend: 'tfjs', path: '/models/use' }))).toBe(true);
    expect(
      unpinned(modelSpec({ id: 'o', backend: 'onnx', path: '/m', sha256: 'a'.repeat(64) })),
    ).toBe(false);
  });
});
