/**
 * @module store/registry-types — the model registry's and datasets' records as the store keeps
 * them, and the {@link RegistryStore} interface both SQL backends implement (conformance suite:
 * registry.case.ts). Records only: who may do what is decided above the store; the store keeps
 * the records consistent under concurrent callers on any number of connections or replicas.
 * Unlike the rest of the store, every time here is epoch **milliseconds**.
 */

/** Where a model version is in its life. */
export type VersionStatus = 'proposed' | 'approved' | 'active' | 'retired' | 'rejected';

/** An identity that did something (from a verified token). */
export interface Actor {
  issuer: string;
  subject: string;
  clientId?: string;
}

/** A dataset owner or creator. */
export interface Principal {
  issuer: string;
  subject: string;
}

/** One dataset version a model version was trained on. */
export interface DatasetRef {
  name: string;
  /** sha256, lower-case hex. */
  digest: string;
}

/** One version of a model. Everything but `status` and `updatedAt` is immutable. */
export interface ModelVersionRecord {
  id: string;
  model: string;
  /** 1, 2, 3, … per model, assigned by the store. */
  version: number;
  backend: string;
  task: string;
  artifactSha256: string;
  artifactSize: number;
  params: Record<string, unknown>;
  proposedBy: Actor;
  datasets: DatasetRef[];
  metadata: Record<string, unknown>;
  status: VersionStatus;
  createdAt: number;
  updatedAt: number;
}

/** What a proposer supplies; the store assigns the version number, status and times. */
export type ProposedVersion = Omit<
  ModelVersionRecord,
  'id' | 'version' | 'status' | 'createdAt' | 'updatedAt'
> & {
  /** The version's id; default a random UUIDv7 from the store's `now`. */
  id?: string;
};

/** One status change of a version; `from` is null for its creation. */
export interface TransitionRecord {
  versionId: string;
  from: VersionStatus | null;
  to: VersionStatus;
  actor: Actor;
  reason: string | null;
  at: number;
}

/** One change of a model's active version. */
export interface DeploymentRecord {
  model: string;
  /** The version that became active. */
  versionId: string;
  /** The version it replaced (now `approved` again), or null if none was active. */
  previousId: string | null;
  kind: 'deploy' | 'rollback';
  actor: Actor;
  at: number;
}

/**
 * Why a version change was refused: `missing` — no such version (or not of that model, or no
 * earlier deployment to roll back to); `conflict` — version `versionId` is not in a status the
 * change starts from, `current` is the one it is in (a stale `from` never writes anything).
 */
export type VersionRefusal =
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'conflict'; versionId: string; current: VersionStatus };

/** Outcome of {@link RegistryStore.transition}. */
export type TransitionResult = { ok: true; record: ModelVersionRecord } | VersionRefusal;

/** Outcome of {@link RegistryStore.deploy} and {@link RegistryStore.rollback}. */
export type DeployResult =
  | {
      ok: true;
      /** The version now active. */
      current: ModelVersionRecord;
      /** The version it replaced, now `approved` again; undefined if none was active. */
      previous: ModelVersionRecord | undefined;
      deployment: DeploymentRecord;
    }
  | VersionRefusal;

/** Outcome of {@link RegistryStore.proposeVersion}. */
export type ProposeResult =
  | { ok: true; record: ModelVersionRecord }
  /** A named dataset version does not exist (or its dataset is soft-deleted): nothing written. */
  | { ok: false; reason: 'missing-dataset'; dataset: DatasetRef };

/** Access a dataset's access list grants. */
export type DatasetAccess = 'read' | 'write' | 'admin';

/** One access-list entry: `sub:<subject>`, `client:<client id>` or `role:<role>`. */
export interface DatasetAclEntry {
  principal: string;
  access: DatasetAccess;
}

/** A dataset's metadata. */
export interface DatasetRecord {
  name: string;
  owner: Principal;
  labels: string[];
  acl: DatasetAclEntry[];
  /** Starts at 1; +1 on every change of labels, access list or deletion (the `If-Match` value). */
  etag: number;
  createdAt: number;
  updatedAt: number;
  /** Set by a soft delete; the dataset is then hidden unless asked for, until purged. */
  deletedAt: number | null;
  deletedBy: Actor | null;
}

/** What a dataset's creator supplies. */
export type NewDataset = Pick<DatasetRecord, 'name' | 'owner' | 'labels' | 'acl'>;

/** One immutable, content-addressed version of a dataset. */
export interface DatasetVersionRecord {
  dataset: string;
  /** sha256, lower-case hex. */
  digest: string;
  size: number;
  createdBy: Principal;
  createdAt: number;
}

/** Outcome of a dataset metadata change: `stale` carries the etag it is at now. */
export type DatasetChangeResult =
  | { ok: true; record: DatasetRecord }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'stale'; etag: number };

/** Outcome of {@link RegistryStore.addDatasetVersion}. */
export type AddDatasetVersionResult =
  { ok: true; created: boolean; record: DatasetVersionRecord } | { ok: false; reason: 'missing' };

/** A dataset removed by {@link RegistryStore.purgeDeleted}, with the digests of its versions. */
export interface PurgedDataset {
  name: string;
  digests: string[];
}

/**
 * Model versions, their transitions and deployments, datasets, their versions and the lineage
 * between them. Every method is atomic; of concurrent callers on any connections, at most one
 * wins a compare-and-set. Unknown names and ids read as undefined (or []) and never throw.
 */
export interface RegistryStore {
  /** Adds version max+1 of `input.model` as `proposed`, its lineage and a creation transition. */
  proposeVersion(input: ProposedVersion, now: number): Promise<ProposeResult>;
  getVersion(id: string): Promise<ModelVersionRecord | undefined>;
  /** The versions of `model`, by version number. */
  listVersions(model: string): Promise<ModelVersionRecord[]>;
  /** Every model with at least one version, in byte order. */
  listModels(): Promise<string[]>;
  /** The transitions of a version, oldest first ([] for an unknown id). */
  history(versionId: string): Promise<TransitionRecord[]>;
  /** Moves `versionId` from `from` to `to` (an edge of `VERSION_TRANSITIONS`, registry-rules.ts) if it is at `from`. */
  transition(
    versionId: string,
    from: VersionStatus,
    to: VersionStatus,
    actor: Actor,
    reason: string | null,
    now: number,
  ): Promise<TransitionResult>;
  /**
   * Makes `versionId` (of `model`, status `approved`) active and the active one (if any)
   * `approved`, with both transitions and a deployment record, all or nothing.
   */
  deploy(model: string, versionId: string, actor: Actor, now: number): Promise<DeployResult>;
  /**
   * Re-activates the version the last deployment of `model` replaced, the same way as `deploy`
   * (kind `rollback`). `missing` if there is none; `conflict` if it is no longer `approved`.
   * Two rollbacks in a row return to where the first started.
   */
  rollback(model: string, actor: Actor, now: number): Promise<DeployResult>;
  activeVersion(model: string): Promise<ModelVersionRecord | undefined>;
  /** The deployments of `model`, oldest first. */
  deployments(model: string): Promise<DeploymentRecord[]>;

  /** Creates a dataset at etag 1; false if the name is taken (soft-deleted ones included). */
  createDataset(input: NewDataset, now: number): Promise<DatasetRecord | false>;
  getDataset(
    name: string,
    options?: { includeDeleted?: boolean },
  ): Promise<DatasetRecord | undefined>;
  /** Datasets not soft-deleted, by name in byte order. */
  listDatasets(): Promise<DatasetRecord[]>;
  /** Replaces labels and/or the access list if the dataset is still at `ifEtag`. */
  updateDataset(
    name: string,
    ifEtag: number,
    patch: { labels?: string[]; acl?: DatasetAclEntry[] },
    now: number,
  ): Promise<DatasetChangeResult>;
  /** Soft-deletes a live dataset (if at `ifEtag`, when given); its versions stay until purged. */
  softDelete(
    name: string,
    ifEtag: number | undefined,
    actor: Actor,
    now: number,
  ): Promise<DatasetChangeResult>;
  /** Records a version of a live dataset; the same digest again returns the first, `created: false`. */
  addDatasetVersion(
    input: Omit<DatasetVersionRecord, 'createdAt'>,
    now: number,
  ): Promise<AddDatasetVersionResult>;
  /** The versions of a dataset (soft-deleted too), in the order they were added. */
  listDatasetVersions(name: string): Promise<DatasetVersionRecord[]>;
  getDatasetVersion(name: string, digest: string): Promise<DatasetVersionRecord | undefined>;
  /**
   * Removes datasets soft-deleted before `before` and their version records (lineage rows stay:
   * they are the history of the model versions). Returns what went, for the blob retention job.
   */
  purgeDeleted(before: number): Promise<PurgedDataset[]>;
  /**
   * Whether `digest` is still the artifact of a model version or a version of a dataset not yet
   * purged (soft-deleted ones included): the blob retention job keeps such a blob.
   */
  digestInUse(digest: string): Promise<boolean>;

  /** Model versions trained on that dataset version, by model then version. */
  modelsTrainedOn(dataset: string, digest: string): Promise<ModelVersionRecord[]>;
  /** The dataset versions a model version was trained on; undefined for an unknown version. */
  datasetsOf(versionId: string): Promise<DatasetRef[] | undefined>;
}
