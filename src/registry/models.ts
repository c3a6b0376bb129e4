/**
 * @module registry/models — the model registry service: proposing a version (its artifact an
 * uploaded blob or a file under `registry.allowedPaths`, its training datasets checked by
 * ./lineage), the two-person rule on approval, reject and retire, and deploy/rollback through the
 * two-phase serving contract (./serving: prepare → record in the store → commit, or abort). Who
 * may call what is the policy's (scopes on `model:<name>`, decided in http/); the rules here hold
 * whatever the caller's roles. Records come from the store; their JSON shape is http/'s.
 */
import type { Clock } from '../lib/clock.js';
import type { Policy } from '../policy/index.js';
import type {
  Actor,
  DatasetRef,
  ModelVersionRecord,
  RegistryStore,
  TransitionRecord,
  VersionStatus,
} from '../store/index.js';
import { canTransition } from '../store/registry-rules.js';
import { assertDigest, type BlobBody, type BlobInfo, type BlobStore } from './blobs.js';
import { RegistryDeniedError, RegistryNotFoundError } from './errors.js';
import { storedArtifact, taskOf, type ArtifactKind } from './artifacts.js';
import { folderLister } from './folder-blobs.js';
import { conflictOf, goLive, refusalOf, type Deployment } from './go-live.js';
import { checkLineage, type RegistryCaller } from './lineage.js';
import { validName } from './paths.js';
import type { RegistryServing } from './serving.js';

export type { RegistryCaller } from './lineage.js';
export type { Deployment } from './go-live.js';

/** What the service works on. */
export interface ModelRegistryDeps {
  readonly store: RegistryStore;
  readonly blobs: BlobStore;
  readonly policy: Policy;
  readonly clock: Clock;
  /** `registry.allowedPaths`: where artifacts may be registered from by path. */
  readonly allowedPaths: readonly string[];
  /** `registry.maxBlobBytes`: the largest artifact one upload or registration may store. */
  readonly maxBlobBytes: number;
  /** The inference side of deploy, rollback and retire; undefined: they are only recorded. */
  readonly serving?: RegistryServing | undefined;
}

/** A new version as its proposer describes it; `sha256` or `path` (or both) names the artifact. */
export interface Proposal {
  /** A backend of config `models[].backend`. */
  readonly backend: string;
  /** Default: the backend's only task (`tfjs` embedding, `llama-cpp` and `echo` generation). */
  readonly task?: string | undefined;
  /** An uploaded blob; with `path`, the digest the file must have. */
  readonly sha256?: string | undefined;
  /** A file or folder under `allowedPaths`, hashed and copied into the blob store. */
  readonly path?: string | undefined;
  /**
   * What the artifact is, checked against what it turns out to be: `file`, or `folder` (`sha256`
   * is then a folder manifest whose files are all stored, or `path` a directory). Default: told.
   */
  readonly kind?: ArtifactKind | undefined;
  readonly params?: Record<string, unknown> | undefined;
  readonly datasets?: readonly DatasetRef[] | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** One model in the registry. */
export interface ModelSummary {
  readonly model: string;
  /** The number of its active version, null when none is. */
  readonly active: number | null;
  readonly versions: number;
}

const actorOf = (c: RegistryCaller): Actor => ({
  issuer: c.issuer,
  subject: c.subject,
  ...(c.clientId === undefined ? {} : { clientId: c.clientId }),
});

/** The model registry service. */
export class ModelRegistry {
  readonly #d: ModelRegistryDeps;

  constructor(deps: ModelRegistryDeps) {
    this.#d = deps;
  }

  /** Stores an uploaded artifact (see BlobStore.put), within `maxBlobBytes`. */
  putBlob(sha256: string, body: BlobBody) {
    return this.#d.blobs.put(sha256, body, { maxBytes: this.#d.maxBlobBytes });
  }

  /**
   * The model versions whose artifact is the stored blob `sha256`, or a folder listing it
   * (several models may share one); 404 `blob-not-found` when none has it (a dataset file is
   * never a model artifact) or it is not stored.
   */
  async artifactVersions(sha256: string): Promise<ModelVersionRecord[]> {
    assertDigest(sha256);
    const versions: ModelVersionRecord[] = [];
    const lists = folderLister(this.#d.blobs);
    for (const model of await this.#d.store.listModels()) {
      for (const v of await this.#d.store.listVersions(model)) {
        if (v.artifactSha256 === sha256 || (await lists(v.artifactSha256, sha256)))
          versions.push(v);
      }
    }
    if (versions.length === 0 || !(await this.#d.blobs.has(sha256))) {
      throw new RegistryNotFoundError('blob-not-found', `No model artifact ${sha256} is stored`);
    }
    return versions;
  }

  /**
   * A read stream of the artifact of `version`, or of the file `sha256` of its folder (as
   * {@link artifactVersions} found it); read it to its end or destroy it.
   */
  openArtifact(
    version: ModelVersionRecord,
    sha256: string = version.artifactSha256,
  ): Promise<{ info: BlobInfo; stream: NodeJS.ReadableStream }> {
    return this.#d.blobs.open(sha256);
  }

  /**
   * Proposes version n+1 of `model`. The artifact must be stored (404 `blob-not-found`) or
   * registered from an allowed path (400 on path tricks; a given `sha256` must match it), and
   * every training dataset must pass ./lineage.
   */
  async propose(caller: RegistryCaller, model: string, p: Proposal): Promise<ModelVersionRecord> {
    validName(model);
    const task = taskOf(p.backend, p.task);
    const artifact = await storedArtifact(this.#d, p.sha256, p.path, p.kind);
    const datasets = await checkLineage(
      this.#d.store,
      this.#d.policy.current(),
      caller,
      model,
      p.datasets ?? [],
    );
    const result = await this.#d.store.proposeVersion(
      {
        model,
        backend: p.backend,
        task,
        artifactSha256: artifact.sha256,
        artifactSize: artifact.size,
        params: p.params ?? {},
        proposedBy: actorOf(caller),
        datasets,
        metadata: p.metadata ?? {},
      },
      this.#d.clock(),
    );
    if (!result.ok) {
      // Deleted between the check and the write.
      const { name, digest } = result.dataset;
      throw new RegistryNotFoundError(
        'dataset-version-not-found',
        `Dataset ${name} has no version ${digest}`,
      );
    }
    return result.record;
  }

  /** Every model with its active version number and version count. */
  async listModels(): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    for (const model of await this.#d.store.listModels()) {
      const versions = await this.#d.store.listVersions(model);
      const active = versions.find((v) => v.status === 'active');
      out.push({ model, active: active?.version ?? null, versions: versions.length });
    }
    return out;
  }

  /** The versions of `model`; 404 `model-not-found` when it has none. */
  async versions(model: string): Promise<ModelVersionRecord[]> {
    validName(model);
    const versions = await this.#d.store.listVersions(model);
    if (versions.length === 0) {
      throw new RegistryNotFoundError('model-not-found', `No model ${model} is registered`);
    }
    return versions;
  }

  /** Version `n` of `model`; 404 when the model or the version does not exist. */
  async version(model: string, n: number): Promise<ModelVersionRecord> {
    const found = (await this.versions(model)).find((v) => v.version === n);
    if (found === undefined) {
      throw new RegistryNotFoundError('version-not-found', `Model ${model} has no version ${n}`);
    }
    return found;
  }

  /**
   * Approves a proposed version. The two-person rule: the identity (issuer and subject) that
   * proposed it can never approve it, whatever its roles (403 `self-approval`).
   */
  async approve(caller: RegistryCaller, model: string, n: number, reason: string | null) {
    const v = await this.version(model, n);
    const by = v.proposedBy;
    if (by.issuer === caller.issuer && by.subject === caller.subject) {
      throw new RegistryDeniedError(
        'self-approval',
        'Two-person rule: a model version must be approved by an identity other than the one that proposed it',
      );
    }
    return this.#move(caller, v, 'approved', reason);
  }

  /** Rejects a proposed (or approved, not yet deployed) version; final. */
  async reject(caller: RegistryCaller, model: string, n: number, reason: string | null) {
    return this.#move(caller, await this.version(model, n), 'rejected', reason);
  }

  /** Retires an approved or active version; final. An active one stops being served. */
  async retire(caller: RegistryCaller, model: string, n: number, reason: string | null) {
    const v = await this.version(model, n);
    const retired = await this.#move(caller, v, 'retired', reason);
    if (v.status === 'active') await this.#d.serving?.retire(model, v.id);
    return retired;
  }

  /**
   * Makes approved version `n` the active one: prepared for serving first (its artifact
   * verified), then recorded, then served; a refusal by the store frees what was prepared.
   */
  async deploy(caller: RegistryCaller, model: string, n: number): Promise<Deployment> {
    const v = await this.version(model, n);
    if (v.status !== 'approved') throw conflictOf(v, 'deploy', v.status);
    return goLive(this.#d.serving, this.#d.blobs, v, () =>
      this.#d.store.deploy(model, v.id, actorOf(caller), this.#d.clock()),
    );
  }

  /** Returns to the version the last deployment replaced (404 `nothing-to-roll-back`). */
  async rollback(caller: RegistryCaller, model: string): Promise<Deployment> {
    await this.versions(model);
    const last = (await this.#d.store.deployments(model)).at(-1);
    const target =
      last?.previousId == null ? undefined : await this.#d.store.getVersion(last.previousId);
    if (target === undefined) {
      throw new RegistryNotFoundError(
        'nothing-to-roll-back',
        `Model ${model} has no earlier deployment to roll back to`,
      );
    }
    if (target.status !== 'approved') throw conflictOf(target, 'roll back to', target.status);
    return goLive(this.#d.serving, this.#d.blobs, target, () =>
      this.#d.store.rollback(model, actorOf(caller), this.#d.clock()),
    );
  }

  /** The status changes of version `n`, oldest first. */
  async history(model: string, n: number): Promise<TransitionRecord[]> {
    return this.#d.store.history((await this.version(model, n)).id);
  }

  /** The deployments of `model`, oldest first, with version numbers. */
  async deployments(model: string): Promise<Deployment[]> {
    const byId = new Map((await this.versions(model)).map((v) => [v.id, v.version]));
    return (await this.#d.store.deployments(model)).map((record) => ({
      record,
      version: byId.get(record.versionId) ?? 0,
      previousVersion: record.previousId === null ? null : (byId.get(record.previousId) ?? null),
    }));
  }

  /** The dataset versions version `n` was trained on. */
  async datasets(model: string, n: number): Promise<DatasetRef[]> {
    return (await this.#d.store.datasetsOf((await this.version(model, n)).id)) ?? [];
  }

  async #move(
    caller: RegistryCaller,
    v: ModelVersionRecord,
    to: VersionStatus,
    reason: string | null,
  ): Promise<ModelVersionRecord> {
    const verb = to === 'approved' ? 'approve' : to === 'rejected' ? 'reject' : 'retire';
    if (!canTransition(v.status, to)) throw conflictOf(v, verb, v.status);
    const result = await this.#d.store.transition(
      v.id,
      v.status,
      to,
      actorOf(caller),
      reason,
      this.#d.clock(),
    );
    if (!result.ok) throw refusalOf(v, verb, result);
    return result.record;
  }
}
