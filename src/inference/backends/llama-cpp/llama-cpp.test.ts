/**
 * @module inference/backends/llama-cpp/llama-cpp.test — the llama.cpp backend against a random-weight GGUF
 * written by the test itself, and against the real stories260K model where it is present.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyGguf, type TinyGguf } from '../../../../test/support/gguf.js';
import { ModelArtifactError } from '../../artifact.js';
import { OverloadedError } from '../../errors.js';
import { generationConformance } from '../../inference.case.js';
import type { GenerateRequest, GenerationHandle, ModelSpecOf } from '../../types.js';
import { modelSpec } from '../../../../test/support/model-spec.js';
import { loadModel } from './index.js';

const STORIES = fileURLToPath(
  new URL('../../../../../shared/models/stories260K/stories260K.gguf', import.meta.url),
);
const STORIES_SHA256 = '5a9d168bd9d9e29302e0d604e9a4c97184057ad87661cd7e7cc4318fdeba6d9c';

type LlamaSpec = ModelSpecOf<'llama-cpp'>;
const spec = (over: Partial<LlamaSpec>): LlamaSpec =>
  modelSpec({ id: 'tiny', backend: 'llama-cpp', ...over });

async function loadGeneration(s: LlamaSpec): Promise<GenerationHandle> {
  const handle = await loadModel(s);
  if (handle.task !== 'generation')
    throw new Error(`expected a generation model, got ${handle.task}`);
  return handle;
}

function request(over: Partial<GenerateRequest>): GenerateRequest {
  return {
    prompt: 'hello world',
    maxTokens: 8,
    temperature: 0,
    signal: new AbortController().signal,
    ...over,
  };
}

/** Runs one job and also returns the chunks it streamed. */
async function run(handle: GenerationHandle, req: GenerateRequest) {
  const chunks: string[] = [];
  const result = await handle.generate(req, (t) => chunks.push(t));
  return { ...result, chunks };
}

describe('llama-cpp backend with a random-weight GGUF', () => {
  let dir: string;
  let gguf: TinyGguf;
  let handle: GenerationHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-gguf-'));
    gguf = await writeTinyGguf(join(dir, 'tiny.gguf'));
    handle = await loadGeneration(spec({ path: gguf.path, sha256: gguf.sha256 }));
  });

  afterAll(async () => {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  });

  generationConformance('llama-cpp, random-weight GGUF', () =>
    loadGeneration(spec({ path: gguf.path, sha256: gguf.sha256 })),
  );

  it('writes the same file for the same seed', async () => {
    const again = await writeTinyGguf(join(dir, 'again.gguf'));
    expect(again.sha256).toBe(gguf.sha256);
    expect(gguf.sizeBytes).toBeLessThan(500_000);
  });

  it('reports what it loaded', () => {
    expect(handle.task).toBe('generation');
    expect(handle.slots).toBe(2);
    expect(handle.contextSize).toBe(256); // the model's training context (below the 4096 cap)
    expect(handle.info).toEqual({
      id: 'tiny',
      backend: 'llama-cpp',
      task: 'generation',
      sha256: gguf.sha256,
      sizeBytes: gguf.sizeBytes,
      contextSize: 256,
    });
  });

  it('refuses a file whose sha256 does not match, before llama.cpp reads it', async () => {
    const load = loadModel(spec({ path: gguf.path, sha256: 'ab'.repeat(32) }));
    await expect(load).rejects.toBeInstanceOf(ModelArtifactError);
    await expect(load).rejects.toThrow(/sha256 mismatch/);
  });

  it('counts every generated token, and the BOS in the prompt', async () => {
    const r = await run(handle, request({ maxTokens: 8 }));
    // Every token the random model can emit is a whole piece or a printable ASCII byte, so
    // none is held back as a partial character: the count is exact.
    expect(r.completionTokens).toBe(8);
    expect(r.promptTokens).toBe(handle.countTokens('hello world') + 1);
    expect(handle.countTokens('')).toBe(0);
  });

  it('runs `slots` jobs at once and refuses one more', async () => {
    const a = run(handle, request({ maxTokens: 12, prompt: 'the cat' }));
    const b = run(handle, request({ maxTokens: 12, prompt: 'and then' }));
    const c = run(handle, request({}));
    await expect(c).rejects.toBeInstanceOf(OverloadedError);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.completionTokens).toBe(12);
    expect(rb.completionTokens).toBe(12);
  });

  it('answers chat messages through a plain template', async () => {
    const r = await run(handle, {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
      maxTokens: 6,
      temperature: 0,
      signal: new AbortController().signal,
    });
    expect(r.finishReason).toBe('length');
    expect(r.chunks.join('')).toBe(r.text);
    // The rendered prompt holds both messages and the template's own text.
    expect(r.promptTokens).toBeGreaterThan(handle.countTokens('be brief hello'));
  });
});

const storiesPresent = existsSync(STORIES);
if (!storiesPresent) {
  console.warn(`llama-cpp: skipping the stories260K tests, ${STORIES} is absent`);
}

describe.skipIf(!storiesPresent)('llama-cpp backend with stories260K', () => {
  let handle: GenerationHandle;

  beforeAll(async () => {
    handle = await loadGeneration(
      spec({ id: 'stories260K', path: STORIES, sha256: STORIES_SHA256, slots: 1 }),
    );
  });

  afterAll(async () => {
    await handle.close();
  });

  generationConformance('llama-cpp, stories260K', () =>
    loadGeneration(spec({ id: 'stories260K', path: STORIES, sha256: STORIES_SHA256 })),
  );

  it('continues "Once upon a time" as the model was trained to, greedily', async () => {
    const r = await run(handle, request({ prompt: 'Once upon a time', maxTokens: 24 }));
    expect(r.text.startsWith(', there was a little girl named Lily')).toBe(true);
    expect(r.finishReason).toBe('length');
    expect(r.completionTokens).toBe(24);
    expect(handle.contextSize).toBe(512);
  });

  it('answers a chat request', async () => {
    const r = await run(handle, {
      messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
      maxTokens: 32,
      temperature: 0,
      signal: new AbortController().signal,
    });
    expect(r.text.trim().length).toBeGreaterThan(0);
  });
});
