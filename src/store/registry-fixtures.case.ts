/**
 * @module store/registry-fixtures.case — what the registry-store conformance suite's files
 * share: fixed times and actors, record builders, and the harness one backend's run provides.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Actor, ModelVersionRecord, ProposedVersion, Store } from './types.js';

/** A fixed "now" (epoch ms); the suite never reads the real clock. */
export const T = 1_700_000_000_000;

export const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;
export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export const alice: Actor = { issuer: 'https://idp.example', subject: 'alice', clientId: 'cli-1' };
export const bob: Actor = { issuer: 'https://idp.example', subject: 'bob' };

/** A proposal for `model` with everything else filled in. */
export const proposal = (model: string, over: Partial<ProposedVersion> = {}): ProposedVersion => ({
  model,
  backend: 'onnx',
  task: 'feature-extraction',
  artifactSha256: sha(`artifact of ${model}`),
  artifactSize: 123_456_789_012,
  params: { threads: 2, pooling: 'mean' },
  proposedBy: alice,
  datasets: [],
  metadata: {},
  ...over,
});

/** Narrows a result to its success case, failing the test otherwise. */
export function okOf<R extends { ok: boolean }>(result: R): Extract<R, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result as Extract<R, { ok: true }>;
}

/** What one backend's run of the suite gives its test files. */
export interface RegistryHarness {
  /** The suite's main connection (open once the suite has started). */
  store(): Store;
  /** Runs `n` calls split across two connections, all started before any is awaited. */
  race<R>(n: number, call: (s: Store, i: number) => Promise<R>): Promise<R[]>;
  /** Proposes a version of `model` and returns it. */
  propose(model: string, over?: Partial<ProposedVersion>, at?: number): Promise<ModelVersionRecord>;
  /** A new dataset with one version. */
  aDataset(labels?: string[]): Promise<{ name: string; digest: string }>;
}
