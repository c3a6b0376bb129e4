/**
 * @module registry/models.test — the registry service's side of the two-phase serving contract,
 * on a real SQLite store, blob store and the built-in policy: prepare before the store records a
 * deployment, commit after it, abort when the store refuses, nothing recorded when prepare
 * fails, and retiring the active version stops serving it. The serving side here is a recording
 * implementation of the RegistryServing interface written for this test — a test double of an
 * interface whose real implementation (inference/registry-serving.ts) is tested on its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { ModelArtifactError } from '../inference/artifact.js';
import { ModelParamsInvalidError, ModelUnavailableError } from '../inference/errors.js';
import { openPolicy } from '../policy/index.js';
import { openStore, type Store } from '../store/index.js';
import { BlobStore } from './blobs.js';
import { registryRefusal, VersionUnloadableError } from './errors.js';
import type { RegistryCaller } from './lineage.js';
import { ModelRegistry } from './models.js';
import type { PreparedVersion, RegistryServing, ServingVersion } from './serving.js';

/** Records every call, in order; `failPrepare` makes the next prepare reject with that error. */
class RecordingServing implements RegistryServing {
  readonly calls: string[] = [];
  failPrepare: Error | false = false;
  #served = new Map<string, { versionId: string; version: number; sha256: string }>();

  prepare(v: ServingVersion): Promise<PreparedVersion> {
    this.calls.push(`prepare ${v.model}@${String(v.version)} ${v.artifactPath}`);
    if (this.failPrepare !== false) {
      const err = this.failPrepare;
      this.failPrepare = false;
      return Promise.reject(err);
    }
    return Promise.resolve({
      commit: () => {
        this.calls.push(`commit ${v.model}@${String(v.version)}`);
        this.#served.set(v.model, { versionId: v.versionId, version: v.version, sha256: v.sha256 });
      },
      abort: () => {
        this.calls.push(`abort ${v.model}@${String(v.version)}`);
        return Promise.resolve();
      },
    });
  }

  retire(model: string, versionId: string): Promise<void> {
    this.calls.push(`retire ${model}`);
    if (this.#served.get(model)?.versionId === versionId) this.#served.delete(model);
    return Promise.resolve();
  }

  served(model: string) {
    return this.#served.get(model);
  }
}

const person = (subject: string, roles: string[]): RegistryCaller => ({
  issuer: 'https://gatehouse.test',
  subject,
  roles,
  scopes: new Set(['models:propose', 'models:approve', 'models:deploy', 'datasets:read']),
});
const alice = person('alice', ['ml-engineer']);
const bob = person('bob', ['admin']);

describe('registry service and serving', () => {
  let dir: string;
  let store: Store;
  let blobs: BlobStore;
  let serving: RecordingServing;
  let registry: ModelRegistry;
  let now = Date.parse('2026-06-01T00:00:00Z');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-registry-service-'));
    store = await openStore({ url: 'sqlite::memory:', dataDir: dir });
    blobs = new BlobStore(join(dir, 'blobs'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    serving = new RecordingServing();
    registry = new ModelRegistry({
      store: store.registry,
      blobs,
      policy: openPolicy(),
      clock: () => (now += 1000),
      allowedPaths: [],
      maxBlobBytes: 1 << 20,
      serving,
    });
  });

  /** A new model with `count` approved versions; returns its name. */
  async function approvedModel(count: number): Promise<string> {
    const model = `m-${randomBytes(3).toString('hex')}`;
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(64);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await registry.putBlob(sha256, Readable.from([bytes]));
      const v = await registry.propose(alice, model, { backend: 'echo', sha256 });
      await registry.approve(bob, model, v.version, null);
    }
    return model;
  }

  it('prepares the version from its blob, records the deployment, then commits', async () => {
    const model = await approvedModel(1);
    const v = await registry.version(model, 1);
    const d = await registry.deploy(bob, model, 1);
    expect(d).toMatchObject({ version: 1, previousVersion: null });
    expect(serving.calls).toEqual([
      `prepare ${model}@1 ${blobs.pathOf(v.artifactSha256)}`,
      `commit ${model}@1`,
    ]);
    expect(serving.served(model)?.versionId).toBe(v.id);
    expect((await store.registry.activeVersion(model))?.id).toBe(v.id);
  });

  it.each([
    [new Error('/srv/blobs/ab/abcd: bad magic'), 422, /the echo backend could not load/],
    [
      new ModelArtifactError('model file /srv/blobs/ab/abcd has sha256 0000, expected abcd'),
      422,
      /does not match its approved sha256/,
    ],
    [new ModelParamsInvalidError('slots must be a positive integer'), 400, /^slots must be/],
    [new ModelUnavailableError('the server is shutting down'), 503, /shutting down/],
  ])('records nothing when prepare fails (%s), answering %i', async (err, status, message) => {
    const model = await approvedModel(1);
    serving.failPrepare = err;
    const refused = await registry.deploy(bob, model, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(GatewayError);
    const g = refused as GatewayError;
    expect(g.statusCode).toBe(status);
    expect(g.message).toMatch(message);
    expect(g.message).not.toContain('/srv/blobs');
    if (status === 422) {
      expect(g).toBeInstanceOf(VersionUnloadableError);
      expect(registryRefusal(g)?.code).toBe('artifact-unloadable');
    }
    expect(await store.registry.deployments(model)).toEqual([]);
    expect((await registry.version(model, 1)).status).toBe('approved');
    expect(serving.served(model)).toBeUndefined();
  });

  it('aborts what it prepared when the store refuses the deployment', async () => {
    const model = await approvedModel(1);
    // Two deploys of one version at once: the store records one, the other is refused.
    const results = await Promise.allSettled([
      registry.deploy(bob, model, 1),
      registry.deploy(bob, model, 1),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(serving.calls.filter((c) => c.startsWith('prepare'))).toHaveLength(2);
    expect(serving.calls.filter((c) => c.startsWith('commit'))).toHaveLength(1);
    expect(serving.calls.filter((c) => c.startsWith('abort'))).toHaveLength(1);
    expect(await store.registry.deployments(model)).toHaveLength(1);
  });

  it('rolls back by preparing the previous version, and retiring the active one stops it', async () => {
    const model = await approvedModel(2);
    await registry.deploy(bob, model, 1);
    await registry.deploy(bob, model, 2);
    serving.calls.length = 0;
    const back = await registry.rollback(bob, model);
    expect(back).toMatchObject({ version: 1, previousVersion: 2 });
    expect(serving.calls).toEqual([
      expect.stringMatching(new RegExp(`^prepare ${model}@1 `)),
      `commit ${model}@1`,
    ]);
    await registry.retire(bob, model, 2, 'old');
    expect(serving.calls.at(-1)).toBe(`commit ${model}@1`);
    await registry.retire(bob, model, 1, 'withdrawn');
    expect(serving.calls.at(-1)).toBe(`retire ${model}`);
    expect(serving.served(model)).toBeUndefined();
    expect(await store.registry.activeVersion(model)).toBeUndefined();
  });
});
