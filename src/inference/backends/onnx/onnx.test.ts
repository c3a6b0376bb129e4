/**
 * @module inference/backends/onnx/onnx.test — the onnx backend against the random-weight tiny BERT
 * in ../shared/models (skipped where that folder is absent) and classifier folders built from
 * it, through the embedding and classification conformance suites and on its own; refusals
 * that need no model run everywhere.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { buildClassifierFolder, type HeadSpec } from '../../../../test/support/onnx-classifier.js';
import { classificationConformance, embeddingConformance } from '../../inference.case.js';
import type {
  ClassificationHandle,
  EmbeddingHandle,
  ModelHandle,
  ModelSpecOf,
} from '../../types.js';
import { modelSpec } from '../../../../test/support/model-spec.js';
import { loadModel } from './index.js';

const TINY_BERT = fileURLToPath(
  new URL('../../../../../shared/models/onnx-tiny-bert', import.meta.url),
);
const HAVE_MODEL = existsSync(join(TINY_BERT, 'onnx', 'model.onnx'));
if (!HAVE_MODEL) {
  console.warn(`onnx backend tests skipped: test model folder ${TINY_BERT} is absent`);
}

type OnnxSpec = ModelSpecOf<'onnx'>;
const spec = (path: string, extra: Partial<OnnxSpec> = {}): OnnxSpec =>
  modelSpec({ id: 'tiny', backend: 'onnx', path, task: 'embedding', ...extra });

function asEmbedding(h: ModelHandle): EmbeddingHandle {
  if (h.task !== 'embedding') throw new Error(`expected an embedding handle, got ${h.task}`);
  return h;
}
function asClassifier(h: ModelHandle): ClassificationHandle {
  if (h.task !== 'classification') throw new Error(`expected a classifier, got ${h.task}`);
  return h;
}
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

describe('onnx backend refusals (no model needed)', () => {
  it('refuses a missing folder with a ModelArtifactError naming it', async () => {
    const err = loadModel(spec('/nonexistent/gatehouse-model'));
    await expect(err).rejects.toMatchObject({ code: 'MODEL_ARTIFACT_INVALID' });
    await expect(err).rejects.toThrow('/nonexistent/gatehouse-model does not exist');
  });

  it('names the first missing file, and a folder without an ONNX file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-onnx-'));
    temps.push(dir);
    await expect(loadModel(spec(dir))).rejects.toThrow(`${dir} has no config.json`);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      await writeFile(join(dir, f), '{}');
    }
    await expect(loadModel(spec(dir))).rejects.toThrow(
      'has neither onnx/model.onnx nor onnx/model_quantized.onnx',
    );
  });

  it('refuses classification for a bare-encoder config before reading the ONNX file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-onnx-'));
    temps.push(dir);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['BertModel'] }));
    await writeFile(join(dir, 'tokenizer.json'), '{}');
    await writeFile(join(dir, 'tokenizer_config.json'), '{}');
    await mkdir(join(dir, 'onnx'));
    await writeFile(join(dir, 'onnx', 'model.onnx'), 'not onnx');
    const err = loadModel(spec(dir, { task: 'classification' }));
    await expect(err).rejects.toMatchObject({ code: 'MODEL_ARTIFACT_INVALID' });
    await expect(err).rejects.toThrow('has no classification head (architectures: BertModel)');
  });
});

describe.skipIf(!HAVE_MODEL)('onnx backend with the tiny BERT', () => {
  let fetchSpy: MockInstance<typeof fetch>;
  let embedder: EmbeddingHandle;

  beforeAll(async () => {
    fetchSpy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('network used'));
    embedder = asEmbedding(await loadModel(spec(TINY_BERT)));
  });
  afterAll(async () => {
    await embedder.close();
    fetchSpy.mockRestore();
  });

  embeddingConformance('onnx (tiny BERT)', async () =>
    asEmbedding(await loadModel(spec(TINY_BERT))),
  );

  it('loads as an embedding model and reports what it loaded', async () => {
    const onnx = await readFile(join(TINY_BERT, 'onnx', 'model.onnx'));
    const { createHash } = await import('node:crypto');
    expect(embedder.info).toEqual({
      id: 'tiny',
      backend: 'onnx',
      task: 'embedding',
      sha256: createHash('sha256').update(onnx).digest('hex'),
      sizeBytes: onnx.length,
      // The smaller of the tokenizer's limit (512) and the position table (128).
      maxInputTokens: 128,
      dimensions: 32,
    });
    expect(embedder.dimensions).toBe(32);
  });

  it('truncates input longer than the position table instead of failing', async () => {
    const long = 'word '.repeat(1000);
    expect(embedder.countTokens(long)).toBe(1002);
    const [v] = await embedder.embed([long]);
    expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
  });

  it('counts tokens with the special tokens the model computes over', () => {
    expect(embedder.countTokens('hello world')).toBeGreaterThan(2);
    expect(embedder.countTokens('')).toBe(2); // [CLS] [SEP]
  });

  it('refuses a sha256 mismatch', async () => {
    const err = loadModel(spec(TINY_BERT, { sha256: '0'.repeat(64) }));
    await expect(err).rejects.toMatchObject({ code: 'MODEL_ARTIFACT_INVALID' });
    await expect(err).rejects.toThrow('sha256 mismatch');
  });

  it('refuses classification of the bare encoder', async () => {
    await expect(loadModel(spec(TINY_BERT, { task: 'classification' }))).rejects.toThrow(
      'has no classification head',
    );
  });

  it('is unavailable after close, and close is idempotent', async () => {
    const h = asEmbedding(await loadModel(spec(TINY_BERT)));
    await h.close();
    await h.close();
    await expect(h.embed(['hi'])).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });

  describe('classification', () => {
    const HIDDEN = 32;
    const build = async (head: HeadSpec, name?: string): Promise<string> => {
      const dir = await buildClassifierFolder(TINY_BERT, head, name);
      temps.push(dirname(dir));
      return dir;
    };
    const zeroHead = (labels: string[], bias: number[]): HeadSpec => ({
      labels,
      weights: new Float32Array(HIDDEN * labels.length),
      bias: Float32Array.from(bias),
    });

    /** A folder with `head`, built on first use (by a conformance suite's beforeAll). */
    const lazyFolder = (head: HeadSpec, name?: string): (() => Promise<string>) => {
      let dir: Promise<string> | undefined;
      return () => (dir ??= build(head, name));
    };
    // Weights that make the scores depend on the text; a folder name that is not Hub-style.
    const singleLabel = lazyFolder(
      {
        labels: ['a', 'b', 'c'],
        weights: Float32Array.from({ length: HIDDEN * 3 }, (_, i) => Math.sin(i)),
        bias: Float32Array.from([0, 0.5, -0.5]),
      },
      'my model--v1',
    );
    const multiLabel = lazyFolder({
      labels: ['toxic', 'insult'],
      weights: Float32Array.from({ length: HIDDEN * 2 }, (_, i) => Math.cos(i)),
      bias: new Float32Array(2),
      problemType: 'multi_label_classification',
    });
    classificationConformance('onnx (tiny BERT + linear head)', async () =>
      asClassifier(await loadModel(spec(await singleLabel(), { task: 'classification' }))),
    );
    classificationConformance(
      'onnx (tiny BERT + multi-label head)',
      async () =>
        asClassifier(await loadModel(spec(await multiLabel(), { task: 'classification' }))),
      { multiLabel: true },
    );

    it('maps softmax probabilities to id2label in index order', async () => {
      const dir = await build(zeroHead(['neg', 'neutral', 'pos'], [0, Math.log(2), Math.log(5)]));
      const h = asClassifier(await loadModel(spec(dir, { task: 'classification' })));
      expect(h.labels).toEqual(['neg', 'neutral', 'pos']);
      expect(h.info).toMatchObject({ task: 'classification', labels: ['neg', 'neutral', 'pos'] });
      expect(h.info.dimensions).toBeUndefined();
      const [p] = await h.classify(['anything']);
      expect(Array.from(p!).map((x) => +x.toFixed(5))).toEqual([0.125, 0.25, 0.625]);
      await h.close();
    });

    it('uses sigmoid for a multi-label model, and infers the task from the config', async () => {
      const head = { ...zeroHead(['toxic', 'insult'], [0, Math.log(3)]) };
      const dir = await build({ ...head, problemType: 'multi_label_classification' });
      const h = asClassifier(await loadModel(spec(dir, { task: undefined })));
      const [p] = await h.classify(['anything']);
      expect(p![0]).toBeCloseTo(0.5, 5);
      expect(p![1]).toBeCloseTo(0.75, 5);
      await h.close();
    });

    it('refuses a classification config whose ONNX graph has no logits output', async () => {
      const dir = await build(zeroHead(['a', 'b'], [0, 0]));
      await writeFile(
        join(dir, 'onnx', 'model.onnx'),
        await readFile(join(TINY_BERT, 'onnx', 'model.onnx')),
      );
      await expect(loadModel(spec(dir, { task: 'classification' }))).rejects.toThrow(
        'has no classification head (no logits output)',
      );
    });

    it('refuses an id2label that does not match the width of the logits', async () => {
      const dir = await build(zeroHead(['a', 'b'], [0, 0]));
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as object;
      const id2label = { '0': 'a', '1': 'b', '2': 'c' };
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, id2label }));
      await expect(loadModel(spec(dir, { task: 'classification' }))).rejects.toThrow(
        'logits has shape [1, 2], which does not match 3 labels in id2label',
      );
    });

    it('refuses a truncated ONNX file with the runtime reason, no stack', async () => {
      const dir = await build(zeroHead(['a', 'b'], [0, 0]));
      const onnx = join(dir, 'onnx', 'model.onnx');
      await writeFile(onnx, (await readFile(onnx)).subarray(0, 1000));
      const err = loadModel(spec(dir, { task: 'classification' }));
      await expect(err).rejects.toMatchObject({ code: 'MODEL_ARTIFACT_INVALID' });
      await expect(err).rejects.toThrow(/could not be loaded from .*: .*protobuf parsing failed/);
    });

    it('loads models from different folders concurrently', async () => {
      const dir = await build(zeroHead(['a', 'b'], [0, 0]));
      const [e, c] = await Promise.all([
        loadModel(spec(TINY_BERT)),
        loadModel(spec(dir, { task: 'classification' })),
      ]);
      expect([e.task, c.task]).toEqual(['embedding', 'classification']);
      await Promise.all([e.close(), c.close()]);
    });
  });

  it('never used the network', () => {
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});
