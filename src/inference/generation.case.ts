/**
 * @module inference/generation.case — the conformance suite every generation backend must pass
 * (exported with the others from inference.case). Requests are greedy (temperature 0) unless a
 * check says otherwise, and every result is checked for shape and for streamed chunks that add
 * up to its text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommonInfo, closeTest, expectCount, tokenCountTests } from './handle.case.js';
import type { GenerateRequest, GenerateResult, GenerationHandle } from './types.js';

/** A prompt that any model continues for more than a few tokens (echo repeats its 21 words). */
const PROMPT =
  'Once upon a time there was a little cat who liked to play in the garden with her friends every day';

/** A request with the suite's defaults; `over` replaces any of them. */
function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: PROMPT,
    maxTokens: 8,
    temperature: 0,
    signal: new AbortController().signal,
    ...over,
  };
}

interface Run extends GenerateResult {
  chunks: string[];
}

/** Runs one job; checks the result's shape and that the streamed chunks add up to its text. */
async function run(
  handle: GenerationHandle,
  req: GenerateRequest,
  onChunk: (chunk: string) => void = () => undefined,
): Promise<Run> {
  const chunks: string[] = [];
  const result = await handle.generate(req, (chunk) => {
    chunks.push(chunk);
    onChunk(chunk);
  });
  expect(['stop', 'length', 'cancelled']).toContain(result.finishReason);
  expect(typeof result.text).toBe('string');
  expectCount(result.promptTokens, 'promptTokens');
  expectCount(result.completionTokens, 'completionTokens');
  expect(result.completionTokens).toBeLessThanOrEqual(req.maxTokens);
  expect(chunks, 'no empty chunk is streamed').not.toContain('');
  expect(chunks.join('')).toBe(result.text);
  return { ...result, chunks };
}

/** Registers the suite for a generation backend; `open` loads a new handle each call. */
export function generationConformance(name: string, open: () => Promise<GenerationHandle>): void {
  describe(`generation conformance: ${name}`, () => {
    let handle: GenerationHandle;
    beforeAll(async () => {
      handle = await open();
    });
    afterAll(() => handle.close());

    it('describes itself consistently', () => {
      checkCommonInfo(handle);
      expect(handle.task).toBe('generation');
      expectCount(handle.slots, 'slots', 1);
      expectCount(handle.contextSize, 'contextSize', 1);
      expect(handle.info.contextSize).toBe(handle.contextSize);
      expect(handle.info.dimensions).toBeUndefined();
      expect(handle.info.labels).toBeUndefined();
    });

    it('generates exactly maxTokens tokens and reports length when it runs out', async () => {
      for (const maxTokens of [1, 5]) {
        const r = await run(handle, request({ maxTokens }));
        expect(r.finishReason, `maxTokens ${maxTokens}`).toBe('length');
        expect(r.completionTokens, `maxTokens ${maxTokens}`).toBe(maxTokens);
        // One token may be part of a character; five make text.
        if (maxTokens > 1) expect(r.text.trim()).not.toBe('');
      }
    });

    it('counts the prompt: at least the tokens of its text', async () => {
      const plain = await run(handle, request());
      expect(plain.promptTokens).toBeGreaterThanOrEqual(handle.countTokens(PROMPT));
      expect(plain.promptTokens).toBeGreaterThan(0);
      const content = 'Tell me a story about a cat.';
      const chat = await run(handle, {
        ...request({ prompt: undefined }),
        messages: [
          { role: 'system', content: 'You are brief.' },
          { role: 'user', content },
        ],
      });
      expect(chat.promptTokens).toBeGreaterThanOrEqual(handle.countTokens(content));
      expect(chat.promptTokens).toBeGreaterThan(0);
    });

    it('is deterministic at temperature 0, for a prompt and for chat', async () => {
      const chat = request({ prompt: undefined, messages: [{ role: 'user', content: PROMPT }] });
      for (const req of [request({ maxTokens: 12 }), chat]) {
        const a = await run(handle, req);
        const b = await run(handle, { ...req, signal: new AbortController().signal });
        expect(b.text).toBe(a.text);
        expect(b.completionTokens).toBe(a.completionTokens);
      }
    });

    it('accepts sampling options (temperature, top-p, seed)', async () => {
      const r = await run(handle, request({ temperature: 0.8, topP: 0.9, seed: 7, maxTokens: 6 }));
      expect(r.finishReason).toBe('length');
      expect(r.completionTokens).toBe(6);
    });

    it('generates from an empty prompt without failing', async () => {
      const r = await run(handle, request({ prompt: '' }));
      expect(r.finishReason).not.toBe('cancelled');
    });

    it('ends the text just before the first stop sequence it meets', async () => {
      const full = (await run(handle, request({ maxTokens: 16 }))).text;
      expect(full.length).toBeGreaterThan(8);
      const spaceFirst = / \S+/.exec(full.slice(1))?.[0]; // as SentencePiece folds it into a token
      const midWord = /\S{3,}/.exec(full)?.[0].slice(1, 3);
      for (const stop of [full.slice(5, 7), spaceFirst, midWord]) {
        if (stop === undefined) continue;
        const r = await run(handle, request({ maxTokens: 16, stop: ['\u0007never\u0007', stop] }));
        expect(r.finishReason, JSON.stringify(stop)).toBe('stop');
        expect(r.text, JSON.stringify(stop)).toBe(full.slice(0, full.indexOf(stop)));
      }
      const unmet = await run(handle, request({ maxTokens: 16, stop: ['\u0007never\u0007'] }));
      expect(unmet.text).toBe(full);
    });

    it('reports a job whose signal is already aborted as cancelled, without generating', async () => {
      const jobs = {
        prompt: request(),
        'empty prompt': request({ prompt: '' }),
        chat: request({ prompt: undefined, messages: [{ role: 'user', content: PROMPT }] }),
      };
      for (const [kind, job] of Object.entries(jobs)) {
        const ac = new AbortController();
        ac.abort();
        const r = await run(handle, { ...job, signal: ac.signal });
        expect(r.finishReason, kind).toBe('cancelled');
        expect(r.completionTokens, kind).toBe(0);
        expect(r.text, kind).toBe('');
      }
    });

    it('stops within a few tokens when aborted mid-generation; the next job runs', async () => {
      const full = await run(handle, request({ maxTokens: 64 }));
      const ac = new AbortController();
      const r = await run(handle, request({ maxTokens: 64, signal: ac.signal }), () => {
        ac.abort();
      });
      expect(r.finishReason).toBe('cancelled');
      expect(r.completionTokens).toBeLessThan(Math.min(8, full.completionTokens));
      expect(full.text.startsWith(r.text)).toBe(true);
      const next = await run(handle, request());
      expect(next.finishReason).toBe('length');
    });

    it('runs `slots` jobs at once, each as it runs alone', async () => {
      const prompts = Array.from({ length: handle.slots }, (_, i) => `${PROMPT} ${i + 1}`);
      const alone: Run[] = [];
      for (const prompt of prompts) alone.push(await run(handle, request({ prompt })));
      const together = await Promise.all(prompts.map((prompt) => run(handle, request({ prompt }))));
      together.forEach((r, i) => {
        expect(r.finishReason).toBe('length');
        expect(r.text, `job ${i}`).toBe(alone[i]?.text);
      });
    });

    tokenCountTests(() => handle);
    closeTest(open);
  });
}
