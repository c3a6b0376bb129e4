/**
 * @module inference/handle.case — the checks every model handle must pass whatever its task
 * (what it says about itself, token counts, closing), and the inputs the task suites share.
 * Used by inference.case and generation.case; not a suite of its own.
 */
import { expect, it } from 'vitest';
import type { BackendName, ModelHandle } from './types.js';

/** A sentence of ordinary words, also cut into word-boundary prefixes by the token checks. */
export const SENTENCE =
  'Quarterly revenue grew four percent, beating every analyst forecast by a wide margin.';

/** Distinct texts of different lengths and scripts; `''` last, so a batch ends with an empty row. */
export const TEXTS: readonly string[] = [
  'The cat sat on the mat.',
  SENTENCE,
  'Wie spät ist es? 東京は晴れ。',
  'ok',
  '',
];

/**
 * Inputs a client can send (all valid in JSON) that no model may fail on: blanks, control
 * characters, emoji, CJK, a combining mark, a lone surrogate.
 */
export const ODD_TEXTS: readonly string[] = [
  ' ',
  '\n\t ',
  '😀🔥',
  '中文字符',
  'e\u0301',
  '\u0000x',
  'a\ud800b',
];

/** 4,800 words: longer than the input window of every model the suites run on. */
export const LONG_TEXT = 'All work and no play makes Jack a dull boy, said the note. '.repeat(400);

const BACKENDS: readonly BackendName[] = ['tfjs', 'onnx', 'llama-cpp', 'echo'];
const INFO_KEYS = new Set([
  'maxInputTokens',
  'id',
  'backend',
  'task',
  'sha256',
  'sizeBytes',
  'dimensions',
  'contextSize',
  'labels',
]);

/** Asserts that `n` is an integer ≥ `min`, naming `what` when it is not. */
export function expectCount(n: number, what: string, min = 0): void {
  expect(Number.isInteger(n), `${what} = ${n} is an integer`).toBe(true);
  expect(n, what).toBeGreaterThanOrEqual(min);
}

/** Asserts the task-independent fields of `handle.info`; the task suites check the rest. */
export function checkCommonInfo(handle: ModelHandle): void {
  const { info } = handle;
  expect(info.task).toBe(handle.task);
  expect(info.id).toMatch(/\S/);
  expect(BACKENDS).toContain(info.backend);
  // Lower-case hex, as /v1/models and the audit log print it and pinned digests compare.
  if (info.sha256 !== undefined) expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
  if (info.sizeBytes !== undefined) expectCount(info.sizeBytes, 'info.sizeBytes', 1);
  // The loader adds loadMs and rssDeltaBytes; a backend reports nothing else.
  const extra = Object.keys(info).filter((k) => !INFO_KEYS.has(k));
  expect(extra).toEqual([]);
}

/** Registers the token-count checks on the handle `get` returns. */
export function tokenCountTests(get: () => ModelHandle): void {
  it('counts tokens as a non-negative integer for any text, the same each time', () => {
    const handle = get();
    for (const text of [...TEXTS, ...ODD_TEXTS]) {
      const n = handle.countTokens(text);
      expectCount(n, `countTokens(${JSON.stringify(text)})`);
      expect(handle.countTokens(text)).toBe(n);
    }
  });

  it('counts at most the special tokens for the empty string, more as words are added', () => {
    const handle = get();
    const empty = handle.countTokens('');
    // [CLS] [SEP] or BOS EOS at most.
    expect(empty).toBeLessThanOrEqual(2);
    // Only prefixes that end between words: inside a word a longer piece can mean fewer tokens.
    const words = SENTENCE.split(' ');
    let previous = empty;
    for (let k = 1; k <= words.length; k++) {
      const prefix = words.slice(0, k).join(' ');
      const n = handle.countTokens(prefix);
      expect(n, `countTokens(${JSON.stringify(prefix)})`).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
    expect(previous).toBeGreaterThan(handle.countTokens(words[0] ?? ''));
  });

  it('counts every token of a long text, beyond the input window', () => {
    // Input limits are enforced on this count, so it must not be truncated.
    const handle = get();
    expect(handle.countTokens(LONG_TEXT)).toBeGreaterThan(4000);
  });
}

/** Registers the check that closing a fresh handle (from `open`) twice resolves both times. */
export function closeTest(open: () => Promise<ModelHandle>): void {
  it('closes, and closing again resolves too', async () => {
    const handle = await open();
    await expect(handle.close()).resolves.toBeUndefined();
    await expect(handle.close()).resolves.toBeUndefined();
  });
}
