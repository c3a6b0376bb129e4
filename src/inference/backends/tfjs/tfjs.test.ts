/**
 * @module inference/backends/tfjs/tfjs.test — the bundled USE-lite backend, loaded once, through the
 * embedding conformance suite and, as a few-shot prompt-injection classifier, the
 * classification one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { modelSpec } from '../../../../test/support/model-spec.js';
import { ModelArtifactError } from '../../artifact.js';
import { builtinExampleSet, createFewShotClassifier } from '../../classifier.js';
import { classificationConformance, embeddingConformance } from '../../inference.case.js';
import type { EmbeddingHandle, ModelSpecOf } from '../../types.js';
import { loadModel } from './index.js';
import { bundledModelDir } from './artifact.js';
import { createUseTokenizer, type PieceTrie, type Vocabulary } from './tokenizer.js';

const spec = modelSpec({ id: 'use-lite', backend: 'tfjs' });

let model: EmbeddingHandle;
const fetchedUrls: string[] = [];
const printed: string[] = [];

async function loadEmbedding(s: ModelSpecOf<'tfjs'>): Promise<EmbeddingHandle> {
  const handle = await loadModel(s);
  if (handle.task !== 'embedding') throw new Error('expected an embedding model');
  return handle;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

beforeAll(async () => {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    fetchedUrls.push(input instanceof Request ? input.url : String(input));
    return realFetch(input, init);
  });
  const capture = (chunk: unknown): boolean => {
    printed.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => printed.push(args.join(' '))),
  );
  try {
    model = await loadEmbedding(spec);
    await model.embed(['first call after load', '']);
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const s of consoleSpies) s.mockRestore();
  }
});

afterAll(async () => {
  await model.close();
  vi.restoreAllMocks();
});

describe('tfjs backend: loading', () => {
  it('describes the bundled model, digesting model.json then the shards in order', async () => {
    const dir = bundledModelDir();
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const files = ['model.json', ...manifest.weightsManifest.flatMap((g) => g.paths)];
    const hash = createHash('sha256');
    let size = 0;
    for (const f of files) {
      const bytes = await readFile(join(dir, f));
      hash.update(bytes);
      size += bytes.length;
    }
    expect(model.info).toEqual({
      id: 'use-lite',
      backend: 'tfjs',
      task: 'embedding',
      sha256: hash.digest('hex'),
      sizeBytes: size,
      dimensions: 512,
    });
    expect(model.dimensions).toBe(512);
  });

  it('never fetches anything but file: URLs and prints nothing while loading', async () => {
    await model.embed(['after load']);
    expect(fetchedUrls.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('accepts the pinned digest in any case and refuses a different one', async () => {
    const pinned = await loadEmbedding({ ...spec, sha256: model.info.sha256!.toUpperCase() });
    expect(pinned.info.sha256).toBe(model.info.sha256);
    await pinned.close();
    await expect(loadModel({ ...spec, sha256: '0'.repeat(64) })).rejects.toBeInstanceOf(
      ModelArtifactError,
    );
  });

  describe('from a model folder (spec.path)', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gatehouse-tfjs-'));
      await cp(bundledModelDir(), dir, { recursive: true });
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('refuses a tampered shard when the digest is pinned', async () => {
      const shard = join(dir, 'group1-shard7of7');
      const bytes = await readFile(shard);
      bytes[100] = bytes[100]! ^ 0xff;
      await writeFile(shard, bytes);
      const err: unknown = await loadModel({
        ...spec,
        path: join(dir, 'model.json'),
        sha256: model.info.sha256,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelArtifactError);
      expect((err as ModelArtifactError).message).toContain('sha256 mismatch');
    });

    it('refuses a manifest that points outside the folder', async () => {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
        weightsManifest: { paths: string[] }[];
      };
      json.weightsManifest[0]!.paths[0] = '../../etc/passwd';
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      await expect(loadModel({ ...spec, path: dir })).rejects.toThrow(/outside/);
    });

    it('refuses a folder that does not exist', async () => {
      await expect(loadModel({ ...spec, path: join(dir, 'missing') })).rejects.toBeInstanceOf(
        ModelArtifactError,
      );
    });
  });
});

embeddingConformance('tfjs (USE-lite, 1 worker)', () => loadEmbedding(spec));

// Over the file's shared model, which the classifier's close() leaves open.
classificationConformance('tfjs few-shot prompt-injection classifier', () => {
  const { examples, fallbackLabel } = builtinExampleSet('prompt-injection');
  return createFewShotClassifier(model, examples, { fallbackLabel });
});

/** Niceness of each thread of this process, from /proc/self/task/<tid>/stat (field 19). */
async function threadNiceness(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir('/proc/self/task')) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => '');
    // Fields after "pid (comm)": state is field 3, nice field 19; comm may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[16] !== undefined) out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe.skipIf(process.platform !== 'linux')('tfjs backend: worker priority (Linux)', () => {
  it('runs the graph in a worker 10 nicer than the process; no other thread changes', async () => {
    const base = getPriority();
    const before = await threadNiceness();
    const niced = await loadEmbedding({ ...spec, threads: 2 });
    try {
      const after = await threadNiceness();
      const added = [...after].filter(([tid]) => !before.has(tid)).map(([, n]) => n);
      expect(added.filter((n) => n === Math.min(19, base + 10))).toHaveLength(2);
      // Threads that existed before (this one, libuv's pool, V8's) keep their niceness: a
      // niced worker must not pass its priority on to threads the whole process shares.
      for (const [tid, n] of before)
        if (after.has(tid)) expect([tid, after.get(tid)]).toEqual([tid, n]);
      // Read synchronously: an async read would run on a libuv pool thread, not this one.
      const own = readFileSync('/proc/thread-self/stat', 'utf8');
      expect(Number(own.slice(own.lastIndexOf(')') + 2).split(' ')[16])).toBe(base);
    } finally {
      await niced.close();
    }
  });

  it('leaves the workers at the process niceness with nice: 0', async () => {
    const before = await threadNiceness();
    const plain = await loadEmbedding({ ...spec, nice: 0 });
    try {
      const added = [...(await threadNiceness())].filter(([tid]) => !before.has(tid));
      expect(added.length).toBeGreaterThan(0);
      expect(added.every(([, n]) => n === getPriority())).toBe(true);
    } finally {
      await plain.close();
    }
  });
});

describe('tfjs backend: embeddings', () => {
  it('places related sentences closer than unrelated ones', async () => {
    const [cat, kitten, stocks] = await model.embed([
      'The cat is sleeping on the sofa.',
      'A kitten naps on the couch.',
      'The stock market fell sharply today.',
    ]);
    expect(cosine(cat!, kitten!)).toBeGreaterThan(cosine(cat!, stocks!) + 0.2);
  });

  it('refuses work after close', async () => {
    const other = await loadEmbedding(spec);
    await other.close();
    await expect(other.embed(['x'])).rejects.toThrow(/closed/);
  });
});

describe('tfjs backend: tokens', () => {
  it('counts SentencePiece pieces without special tokens', () => {
    expect(model.countTokens('')).toBe(0);
    expect(model.countTokens('hello')).toBe(2); // ▁hell + o: pieces, not words
    expect(model.countTokens('Hello world')).toBe(3);
    expect(model.countTokens('a b c d')).toBeGreaterThan(model.countTokens('a b'));
  });

  it('tokenizes exactly like @energetic-ai/embeddings, in linear time', async () => {
    const { EmbeddingsModel } = (await import('@energetic-ai/embeddings')) as unknown as {
      EmbeddingsModel: new (d: { vocabulary: Vocabulary; model: null }) => {
        tokenizer: { trie: PieceTrie; encode(text: string): number[] };
      };
    };
    const vocabPath = join(bundledModelDir(), 'vocab.json');
    const vocabulary = JSON.parse(await readFile(vocabPath, 'utf8')) as Vocabulary;
    const reference = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;
    const ours = createUseTokenizer(vocabulary, reference.trie);
    const piece = fc.constantFrom('a', 'th', 'ing', ' ', '  ', '\u00a0', '.', 'é', '中', '😀', '9');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string()), { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        expect(ours.encode(text)).toEqual(reference.encode(text));
      }),
      { numRuns: 2000 },
    );
    // The original is quadratic: this input would hold it for minutes.
    expect(model.countTokens('x'.repeat(200_000))).toBeGreaterThan(1000);
  });
});
