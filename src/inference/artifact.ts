/**
 * @module inference/artifact — integrity of model files: the sha256 of an artifact is computed
 * while streaming it from disk and must match the one declared in config, or the model is
 * refused before any of its bytes reach a parser.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GatewayError } from '../errors.js';

/** A model's file does not match its declared digest, or cannot be read. */
export class ModelArtifactError extends GatewayError {
  constructor(message: string) {
    super('MODEL_ARTIFACT_INVALID', message, 500);
  }
}

/** Streams `path` through SHA-256; returns the hex digest and size. */
export async function digestFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  let sizeBytes: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ModelArtifactError(`model file ${path} is not a regular file`);
    sizeBytes = st.size;
  } catch (err) {
    if (err instanceof ModelArtifactError) throw err;
    throw new ModelArtifactError(`model file ${path} cannot be read`);
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), sizeBytes };
}

/**
 * Digests `path` and compares with `expected` (hex, any case) when one is declared.
 * Throws ModelArtifactError on mismatch, naming both digests.
 */
export async function verifyArtifact(
  path: string,
  expected: string | undefined,
): Promise<{ sha256: string; sizeBytes: number }> {
  const result = await digestFile(path);
  if (expected !== undefined && result.sha256 !== expected.toLowerCase()) {
    throw new ModelArtifactError(
      `sha256 mismatch for ${path}: expected ${expected.toLowerCase()}, got ${result.sha256}`,
    );
  }
  return result;
}
