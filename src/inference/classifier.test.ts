/** @module inference/classifier.test — few-shot scoring over a fake embedding model. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  builtinExampleSet,
  createFewShotClassifier,
  loadExampleSets,
  type ExampleSets,
} from './classifier.js';
import type { EmbeddingHandle } from './types.js';

/** A unit vector in the plane at `degrees`. */
const at = (degrees: number): Float32Array =>
  new Float32Array([Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)]);

/** Embeds texts of the form "<angle>" (or "zero") as 2-d vectors; records every call. */
function fakeModel(): EmbeddingHandle & { calls: string[][]; closed: boolean } {
  const fake = {
    task: 'embedding' as const,
    dimensions: 2,
    calls: [] as string[][],
    closed: false,
    info: {
      id: 'fake',
      backend: 'echo' as const,
      task: 'embedding' as const,
      sha256: 'ab'.repeat(32),
      sizeBytes: 1,
      dimensions: 2,
    },
    countTokens: (text: string) => text.length,
    embed(texts: readonly string[]) {
      fake.calls.push([...texts]);
      return Promise.resolve(
        texts.map((t) => (t === 'zero' ? new Float32Array(2) : at(Number.parseFloat(t)))),
      );
    },
    close() {
      fake.closed = true;
      return Promise.resolve();
    },
  };
  return fake;
}

// `a` spreads over a quarter circle (centroid at 45°); `b` is one tight cluster at 60°.
const examples: ExampleSets = { a: ['0', '90'], b: ['60', '61'] };

describe('createFewShotClassifier', () => {
  it('embeds the examples once, in batches, and each batch of texts in one call', async () => {
    const model = fakeModel();
    const c = await createFewShotClassifier(model, examples, { batchSize: 3 });
    expect(model.calls).toEqual([['0', '90', '60'], ['61']]);
    model.calls.length = 0;
    await c.classifyBatch(['1', '2', '3', '4']);
    expect(model.calls).toEqual([['1', '2', '3', '4']]);
  });

  it('returns per-label scores in [0,1] that sum to 1, and the best label', async () => {
    const c = await createFewShotClassifier(fakeModel(), examples);
    const [near0, near60] = await c.classifyBatch(['5', '62']);
    expect(near0!.label).toBe('a');
    expect(near60!.label).toBe('b');
    for (const r of [near0!, near60!]) {
      expect(r.scores).toHaveLength(2);
      for (const s of r.scores) expect(s).toBeGreaterThanOrEqual(0);
      expect(r.scores.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
      expect(r.score).toBe(Math.max(...r.scores));
    }
    // head: the similarity of a label is its nearest example's cosine (5° and 58° away).
    const cos = (d: number) => Math.cos((d * Math.PI) / 180);
    expect(near0!.similarities[0]).toBeCloseTo(cos(5), 5);
    expect(near0!.similarities[1]).toBeCloseTo(cos(55), 5);
    // hybrid: mean of the centroid cosine (40° away) and the top-3 mean (5° and 85° away).
    const hybrid = await createFewShotClassifier(fakeModel(), examples, { method: 'hybrid' });
    const [h] = await hybrid.classifyBatch(['5']);
    expect(h!.similarities[0]).toBeCloseTo((cos(40) + (cos(5) + cos(85)) / 2) / 2, 5);
  });

  it('head: trains the same classifier from the same examples, whatever the batch', async () => {
    const one = await createFewShotClassifier(fakeModel(), examples, { batchSize: 1 });
    const all = await createFewShotClassifier(fakeModel(), examples, { batchSize: 32 });
    const texts = ['5', '30', '45', '61', '100'];
    const a = await one.classifyBatch(texts);
    const b = await all.classifyBatch(texts);
    expect(a.map((r) => [...r.scores])).toEqual(b.map((r) => [...r.scores]));
    expect(one.info.sha256).toBe(all.info.sha256);
  });

  it('head: mixes the trained regression with the vote of the k nearest examples', async () => {
    // With k 1 the vote is all for the nearest example's label, so it alone moves the score.
    const k1 = await createFewShotClassifier(fakeModel(), examples, { k: 1 });
    const k4 = await createFewShotClassifier(fakeModel(), examples, { k: 4, temperature: 100 });
    const [near] = await k1.classifyBatch(['59']);
    const [even] = await k4.classifyBatch(['59']);
    expect(near!.scores[1]).toBeGreaterThanOrEqual(0.5);
    // k 4 at a high temperature: every example votes about equally, 2 for each label.
    expect(near!.scores[1]! - even!.scores[1]!).toBeCloseTo(0.25, 1);
    expect(k1.info.sha256).not.toBe(k4.info.sha256);
  });

  it('centroid and top-k disagree where a label is spread out; hybrid averages them', async () => {
    const model = fakeModel();
    const centroid = await createFewShotClassifier(model, examples, { method: 'centroid' });
    const nearest = await createFewShotClassifier(model, examples, { method: 'top-k', k: 1 });
    // 48°: 3° from a's centroid but 12° from b; 42° from a's nearest example, 12° from b's.
    const [byCentroid] = await centroid.classifyBatch(['48']);
    const [byNearest] = await nearest.classifyBatch(['48']);
    expect(byCentroid!.label).toBe('a');
    expect(byNearest!.label).toBe('b');
    expect(byCentroid!.similarities[0]).toBeCloseTo(Math.cos((3 * Math.PI) / 180), 5);
    expect(byNearest!.similarities[0]).toBeCloseTo(Math.cos((42 * Math.PI) / 180), 5);
  });

  it('falls back below the threshold and says it was not confident', async () => {
    const model = fakeModel();
    const strict = await createFewShotClassifier(model, examples, {
      method: 'hybrid',
      threshold: 0.99,
      fallbackLabel: 'a',
      temperature: 1,
    });
    const [r] = await strict.classifyBatch(['62']);
    expect(r).toMatchObject({ label: 'a', confident: false });
    expect(r!.scores[1]).toBeGreaterThan(r!.scores[0]!);
    const noFallback = await createFewShotClassifier(model, examples, { threshold: 0.99 });
    expect((await noFallback.classifyBatch(['62']))[0]).toMatchObject({ label: 'b' });
  });

  it('sharpens scores as the temperature drops', async () => {
    const model = fakeModel();
    const soft = await createFewShotClassifier(model, examples, {
      method: 'hybrid',
      temperature: 1,
    });
    const sharp = await createFewShotClassifier(model, examples, {
      method: 'hybrid',
      temperature: 0.01,
    });
    const [s] = await soft.classifyBatch(['62']);
    const [h] = await sharp.classifyBatch(['62']);
    expect(h!.score).toBeGreaterThan(s!.score);
  });

  it('scores a zero vector without NaN (evenly, by similarity)', async () => {
    const hybrid = await createFewShotClassifier(fakeModel(), examples, { method: 'hybrid' });
    const [r] = await hybrid.classifyBatch(['zero']);
    expect([...r!.scores]).toEqual([0.5, 0.5]);
    const head = await createFewShotClassifier(fakeModel(), examples);
    const [h] = await head.classifyBatch(['zero']);
    for (const s of h!.scores) expect(Number.isFinite(s)).toBe(true);
    expect(h!.scores.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
  });

  it('is a ClassificationHandle: classify gives the scores in label order', async () => {
    const model = fakeModel();
    const c = await createFewShotClassifier(model, examples, { id: 'mod', threshold: 0.6 });
    expect(c.task).toBe('classification');
    expect(c.labels).toEqual(['a', 'b']);
    expect(c.threshold).toBe(0.6);
    expect(c.method).toBe('head');
    expect(c.builtOn).toBe('fake');
    expect(c.countTokens('abcd')).toBe(4);
    const [scores] = await c.classify(['62']);
    const [result] = await c.classifyBatch(['62']);
    expect(scores).toEqual(result!.scores);
    expect(await c.classify([])).toEqual([]);
    expect(c.info).toMatchObject({
      id: 'mod',
      backend: 'echo',
      task: 'classification',
      labels: ['a', 'b'],
    });
  });

  it('digests model, examples and settings into info.sha256', async () => {
    const model = fakeModel();
    const digest = async (ex: ExampleSets, threshold = 0.5) =>
      (await createFewShotClassifier(model, ex, { threshold })).info.sha256;
    const base = await digest(examples);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await digest(examples)).toBe(base);
    expect(await digest({ ...examples, b: ['60'] })).not.toBe(base);
    expect(await digest(examples, 0.7)).not.toBe(base);
  });

  it('close drops the examples but leaves the shared model open', async () => {
    const model = fakeModel();
    const c = await createFewShotClassifier(model, examples);
    await c.close();
    expect(model.closed).toBe(false);
    await expect(c.classifyBatch(['1'])).rejects.toThrow(/closed/);
  });

  it.each([
    [{ only: ['1'] }, {}],
    [{ a: [], b: ['1'] }, {}],
    [{ a: ['1'], b: [' '] }, {}],
    [JSON.parse('{"__proto__": ["1"], "b": ["2"]}') as ExampleSets, {}],
    [examples, { threshold: 1.5 }],
    [examples, { k: 0 }],
    [examples, { temperature: 0 }],
    [examples, { fallbackLabel: 'c' }],
  ])('refuses invalid examples or options %#', async (ex, options) => {
    await expect(createFewShotClassifier(fakeModel(), ex, options)).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

/** The label message goes on to say what a label may contain. */
const msgTail = (msg: string) =>
  msg.endsWith('is not a label') ? ' (letters, digits, _ . / -; at most 64 characters)' : '';

describe('example sets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-examples-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('loads JSON and YAML files of { label: [examples] }', async () => {
    await writeFile(join(dir, 'set.json'), JSON.stringify({ spam: ['buy now'], ham: ['hi'] }));
    await writeFile(join(dir, 'set.yaml'), 'spam:\n  - buy now\nham:\n  - hi\n');
    const json = await loadExampleSets(join(dir, 'set.json'));
    expect(json).toEqual({ spam: ['buy now'], ham: ['hi'] });
    expect(await loadExampleSets(join(dir, 'set.yaml'))).toEqual(json);
  });

  it('names the file when it is missing, unparsable or malformed', async () => {
    await writeFile(join(dir, 'bad.json'), '{ nope');
    await writeFile(join(dir, 'flat.yaml'), '- just\n- a list\n');
    for (const name of ['missing.json', 'bad.json', 'flat.yaml']) {
      const err: unknown = await loadExampleSets(join(dir, name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(name);
    }
  });

  it.each([
    ['labels.yaml', 'spam:\n  - buy now\nham: []\n', 'ham needs at least 1 example'],
    ['blank.yaml', 'spam:\n  - buy now\nham:\n  - hi\n  - "  "\n', 'ham[1] must not be blank'],
    ['number.json', '{"spam": ["buy now"], "ham": ["hi", 42]}', 'ham[1] must be a string'],
    ['scalar.yaml', 'spam: buy now\nham:\n  - hi\n', 'spam must be a list of examples'],
    ['label.json', '{"spam": ["x"], "bad label": ["y"]}', '"bad label" is not a label'],
    ['proto.json', '{"__proto__": ["x"], "ham": ["y"]}', '"__proto__" is not a label'],
    ['one.yaml', 'spam:\n  - buy now\n', 'expected 2 to 64 labels, got 1'],
  ])('validates %s with the schema and names the file and the bad key', async (name, text, msg) => {
    await writeFile(join(dir, name), text);
    const err: unknown = await loadExampleSets(join(dir, name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`${join(dir, name)}: ${msg}${msgTail(msg)}`);
  });

  it('ships the moderation and prompt-injection sets', () => {
    const moderation = builtinExampleSet('moderation');
    expect(Object.keys(moderation.examples)).toEqual([
      'harassment',
      'hate',
      'self-harm',
      'sexual',
      'violence',
      'illicit',
      'safe',
    ]);
    for (const [label, texts] of Object.entries(moderation.examples)) {
      expect(texts.length).toBeGreaterThanOrEqual(label === 'safe' ? 150 : 15);
      expect(texts.length).toBeLessThanOrEqual(label === 'safe' ? 400 : 40);
    }
    expect(moderation.fallbackLabel).toBe('safe');
    const injection = builtinExampleSet('prompt-injection');
    expect(Object.keys(injection.examples)).toEqual(['injection', 'benign']);
    for (const texts of Object.values(injection.examples)) expect(texts.length).toBeGreaterThan(30);
    expect(injection.fallbackLabel).toBe('benign');
  });
});
