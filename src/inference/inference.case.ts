/**
 * @module inference/inference.case — the conformance suites every inference backend must pass,
 * one per task, run by each backend's test file (as store.case is by the store backends).
 * `open` returns a newly loaded handle each time it is called; the suites close what they open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCommonInfo,
  closeTest,
  expectCount,
  LONG_TEXT,
  ODD_TEXTS,
  SENTENCE,
  TEXTS,
  tokenCountTests,
} from './handle.case.js';
import type { ClassificationHandle, EmbeddingHandle } from './types.js';

export { generationConformance } from './generation.case.js';

/** What the row checks need from an embedding or classification handle. */
interface RowModel {
  /** One row per text: a vector, or scores per label. */
  rows(texts: readonly string[]): Promise<Float32Array[]>;
  /** Asserts the width and values of one row (`what` names it in failures). */
  checkRow(row: Float32Array, what: string): void;
}

/** Largest element-wise difference; Infinity when the lengths differ, NaN if either has NaN. */
function maxDiff(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (a === undefined || b?.length !== a.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return max;
}

/** Runs `texts` through `model`, checks there is one valid row per text, returns the rows. */
async function validRows(model: RowModel, texts: readonly string[]): Promise<Float32Array[]> {
  const rows = await model.rows(texts);
  expect(rows).toHaveLength(texts.length);
  rows.forEach((row, i) => {
    model.checkRow(row, `row for ${JSON.stringify(texts[i]?.slice(0, 40))}`);
  });
  return rows;
}

/** The checks shared by `embed` and `classify`: batches, order, determinism, odd inputs. */
function rowTests(get: () => RowModel): void {
  it('gives each text of a batch the result it gets alone, in input order', async () => {
    const model = get();
    const batch = await validRows(model, TEXTS);
    for (const [i, text] of TEXTS.entries()) {
      const [alone] = await validRows(model, [text]);
      expect(maxDiff(batch[i], alone), `row ${i} alone vs in the batch`).toBeLessThan(1e-4);
    }
    const reversed = await validRows(model, [...TEXTS].reverse());
    reversed.reverse();
    for (const [i, row] of reversed.entries()) expect(maxDiff(batch[i], row)).toBeLessThan(1e-4);
  });

  it('gives different texts different results', async () => {
    // Also what makes the order check above able to fail.
    const rows = await validRows(get(), TEXTS);
    const differing = rows.filter((row) => maxDiff(row, rows[0]) > 1e-4);
    expect(differing.length).toBeGreaterThan(0);
  });

  it('is deterministic: the same text, the same result, in one batch and across calls', async () => {
    const model = get();
    const [a, , c] = await validRows(model, [SENTENCE, 'ok', SENTENCE]);
    const [d] = await validRows(model, [SENTENCE]);
    expect(maxDiff(a, c)).toBeLessThan(1e-6);
    expect(maxDiff(a, d)).toBeLessThan(1e-4);
  });

  it('returns [] for an empty batch', async () => {
    expect(await get().rows([])).toEqual([]);
  });

  it('handles blank and unusual text, alone and in a batch', async () => {
    const model = get();
    const batch = await validRows(model, ['hello', ...ODD_TEXTS]);
    for (const [i, text] of ODD_TEXTS.entries()) {
      const [alone] = await validRows(model, [text]);
      expect(maxDiff(batch[i + 1], alone), JSON.stringify(text)).toBeLessThan(1e-4);
    }
  });

  it('handles a text longer than its input window, alone and in a batch', async () => {
    const model = get();
    const [, long] = await validRows(model, ['short', LONG_TEXT]);
    const [alone] = await validRows(model, [LONG_TEXT]);
    expect(maxDiff(long, alone)).toBeLessThan(1e-4);
  });

  it('gives concurrent calls the same rows as calls made one at a time', async () => {
    const model = get();
    const batches = [TEXTS, [...TEXTS].reverse(), [SENTENCE], TEXTS.slice(0, 2), ['ok', 'ok']];
    const oneByOne: Float32Array[][] = [];
    for (const b of batches) oneByOne.push(await validRows(model, b));
    const together = await Promise.all(batches.map((b) => validRows(model, b)));
    together.forEach((rows, i) => {
      rows.forEach((row, j) => {
        expect(maxDiff(row, oneByOne[i]?.[j]), `batch ${i}, row ${j}`).toBeLessThan(1e-4);
      });
    });
  });
}

/** Registers the suite for an embedding backend; `open` loads a new handle each call. */
export function embeddingConformance(name: string, open: () => Promise<EmbeddingHandle>): void {
  describe(`embedding conformance: ${name}`, () => {
    let handle: EmbeddingHandle;
    beforeAll(async () => {
      handle = await open();
    });
    afterAll(() => handle.close());

    it('describes itself consistently', () => {
      checkCommonInfo(handle);
      expect(handle.task).toBe('embedding');
      expectCount(handle.dimensions, 'dimensions', 1);
      expect(handle.info.dimensions).toBe(handle.dimensions);
      expect(handle.info.labels).toBeUndefined();
      expect(handle.info.contextSize).toBeUndefined();
      if (handle.parallelism !== undefined) expectCount(handle.parallelism, 'parallelism', 1);
    });

    rowTests(() => ({
      rows: (texts) => handle.embed(texts),
      checkRow(row, what) {
        expect(row, what).toBeInstanceOf(Float32Array);
        expect(row, what).toHaveLength(handle.dimensions);
        expect(row.every(Number.isFinite), `${what}: finite`).toBe(true);
        // Unit length: OpenAI clients take the dot product of two embeddings as their cosine.
        expect(Math.hypot(...row), `${what}: norm`).toBeCloseTo(1, 3);
      },
    }));

    tokenCountTests(() => handle);
    closeTest(open);
  });
}

/** Options of {@link classificationConformance}. */
export interface ClassificationConformanceOptions {
  /** Scores are independent per label (sigmoid), so they need not sum to 1. */
  multiLabel?: boolean;
}

/**
 * Registers the suite for a classification backend; `open` loads a new handle each call.
 * Scores must lie in [0,1] and, unless `multiLabel`, sum to 1.
 */
export function classificationConformance(
  name: string,
  open: () => Promise<ClassificationHandle>,
  options: ClassificationConformanceOptions = {},
): void {
  describe(`classification conformance: ${name}`, () => {
    let handle: ClassificationHandle;
    beforeAll(async () => {
      handle = await open();
    });
    afterAll(() => handle.close());

    it('describes itself consistently', () => {
      checkCommonInfo(handle);
      expect(handle.task).toBe('classification');
      expect(handle.labels.length).toBeGreaterThan(0);
      for (const label of handle.labels) expect(label).toMatch(/\S/);
      expect(new Set(handle.labels).size).toBe(handle.labels.length);
      expect(handle.info.labels).toEqual(handle.labels);
      expect(handle.info.dimensions).toBeUndefined();
      expect(handle.info.contextSize).toBeUndefined();
    });

    rowTests(() => ({
      rows: (texts) => handle.classify(texts),
      checkRow(row, what) {
        expect(row, what).toBeInstanceOf(Float32Array);
        expect(row, what).toHaveLength(handle.labels.length);
        for (const p of row) {
          expect(p, what).toBeGreaterThanOrEqual(0);
          expect(p, what).toBeLessThanOrEqual(1);
        }
        if (options.multiLabel !== true) {
          expect(
            row.reduce((s, p) => s + p, 0),
            `${what}: sum`,
          ).toBeCloseTo(1, 4);
        }
      },
    }));

    tokenCountTests(() => handle);
    closeTest(open);
  });
}
