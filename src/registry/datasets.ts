/**
 * @module registry/datasets — the dataset service: create, list, read, change labels and access
 * list, soft delete, add versions (content streamed into the shared BlobStore), download them
 * (streamed, never whole in memory), lineage, and the retention job. The policy has already
 * allowed the scope on `dataset:<name>` (http/authorize); every operation here checks the
 * dataset's access list (registry/access) as the second gate both must pass, and refuses with
 * 403 `dataset-access` otherwise. Domain code: plain values in, records out.
 */
import { systemEvent, type AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { LABEL_NAME } from '../policy/index.js';
import type {
  Actor,
  DatasetAccess,
  DatasetAclEntry,
  DatasetRecord,
  DatasetVersionRecord,
  ModelVersionRecord,
  Store,
} from '../store/index.js';
import { datasetAccess, grants, PRINCIPAL, type DatasetCaller } from './access.js';
import { assertDigest, type BlobBody, type BlobInfo, type BlobStore } from './blobs.js';
import {
  DatasetAccessError,
  DatasetExistsError,
  DatasetNotFoundError,
  DatasetPreconditionRequiredError,
  DatasetStaleError,
  RegistryInputError,
} from './errors.js';
import { validName } from './paths.js';
import { stopSource } from './upload.js';

/** The caller of a dataset operation (from its verified token). */
export type DatasetActor = DatasetCaller & Actor;

/** A dataset with its versions, as read. */
export interface DatasetView {
  readonly record: DatasetRecord;
  readonly versions: DatasetVersionRecord[];
}

/** What the service is built on. */
export interface DatasetServiceDeps {
  store: Pick<Store, 'registry'>;
  /** The shared blob store (`join(config.dataDir, 'blobs')`), also holding model artifacts. */
  blobs: BlobStore;
  clock: Clock;
  /** `config.registry`: the upload limit and how long deleted content is kept. */
  limits: { readonly maxBlobBytes: number; readonly retentionDays: number };
  /** Where the retention job records what it purged (undefined: audit off). */
  audit?: Pick<AuditLog, 'record'> | undefined;
  /** `iss` of the retention job's audit events (the server's issuer). */
  issuer: string;
}

/** What one retention run removed. */
export interface PurgeReport {
  /** Datasets whose records were purged. */
  readonly datasets: string[];
  /** Blobs deleted: no model version or remaining dataset version used them. */
  readonly deleted: string[];
  /** Blobs kept because something still uses them. */
  readonly kept: string[];
}

const DAY_MS = 86_400_000;
const MAX_LABELS = 64;
const MAX_ACL = 256;
const ACCESS: ReadonlySet<string> = new Set(['read', 'write', 'admin']);

/** `labels` when each is a LABEL_NAME and none repeats; 400 `label-invalid` otherwise. */
export function validLabels(labels: readonly string[]): string[] {
  if (labels.length > MAX_LABELS) {
    throw new RegistryInputError('label-invalid', `A dataset has at most ${MAX_LABELS} labels`);
  }
  for (const l of labels) {
    if (typeof l !== 'string' || !LABEL_NAME.test(l)) {
      throw new RegistryInputError(
        'label-invalid',
        'A label is 1 to 64 lower-case letters, digits, . _ - starting with a letter',
      );
    }
  }
  if (new Set(labels).size !== labels.length) {
    throw new RegistryInputError('label-invalid', 'A label is listed twice');
  }
  return [...labels];
}

/** `acl` when every entry names a principal once with a known access; 400 `acl-invalid`. */
export function validAcl(acl: readonly DatasetAclEntry[]): DatasetAclEntry[] {
  if (acl.length > MAX_ACL) {
    throw new RegistryInputError('acl-invalid', `An access list has at most ${MAX_ACL} entries`);
  }
  const seen = new Set<string>();
  for (const { principal, access } of acl) {
    if (typeof principal !== 'string' || !PRINCIPAL.test(principal)) {
      throw new RegistryInputError(
        'acl-invalid',
        'An access-list principal is sub:<subject>, client:<client id> or role:<role>',
      );
    }
    if (!ACCESS.has(access)) {
      throw new RegistryInputError('acl-invalid', 'Access is read, write or admin');
    }
    if (seen.has(principal)) {
      throw new RegistryInputError('acl-invalid', `The principal ${principal} is listed twice`);
    }
    seen.add(principal);
  }
  return acl.map(({ principal, access }) => ({ principal, access }));
}

/** The dataset service (see the module comment). */
export class DatasetService {
  readonly #d: DatasetServiceDeps;
  #running: Promise<PurgeReport> | undefined;

  constructor(deps: DatasetServiceDeps) {
    this.#d = deps;
  }

  get #registry() {
    return this.#d.store.registry;
  }

  /** The live dataset `name` if `caller` holds `needed` on it; 404 or 403 otherwise. */
  async #dataset(caller: DatasetActor, name: string, needed: DatasetAccess) {
    const record = await this.#registry.getDataset(validName(name));
    if (record === undefined) {
      throw new DatasetNotFoundError('dataset-not-found', `No dataset named ${name}`);
    }
    if (!grants(datasetAccess(caller, record), needed)) throw new DatasetAccessError(name, needed);
    return record;
  }

  /** Creates a dataset owned by `caller`; 409 when the name is taken. */
  async create(
    caller: DatasetActor,
    input: { name: string; labels?: string[]; acl?: DatasetAclEntry[] },
  ): Promise<DatasetView> {
    const name = validName(input.name);
    const record = await this.#registry.createDataset(
      {
        name,
        owner: { issuer: caller.issuer, subject: caller.subject },
        labels: validLabels(input.labels ?? []),
        acl: validAcl(input.acl ?? []),
      },
      this.#d.clock(),
    );
    if (record === false) throw new DatasetExistsError(name);
    return { record, versions: [] };
  }

  /** The live datasets `caller` may read by their access list and by `policyAllows`. */
  async list(
    caller: DatasetActor,
    policyAllows: (name: string) => boolean,
  ): Promise<DatasetRecord[]> {
    const all = await this.#registry.listDatasets();
    return all.filter((d) => grants(datasetAccess(caller, d), 'read') && policyAllows(d.name));
  }

  /** A dataset and its versions (access `read`). */
  async get(caller: DatasetActor, name: string): Promise<DatasetView> {
    const record = await this.#dataset(caller, name, 'read');
    return { record, versions: await this.#registry.listDatasetVersions(record.name) };
  }

  /**
   * Replaces labels (access `write`) and/or the access list (`admin`) if the dataset is still
   * at `ifEtag`: 428 without one, 412 with the current etag when stale (nothing written).
   */
  async update(
    caller: DatasetActor,
    name: string,
    ifEtag: number | undefined,
    patch: { labels?: string[]; acl?: DatasetAclEntry[] },
  ): Promise<DatasetView> {
    const labels = patch.labels === undefined ? undefined : validLabels(patch.labels);
    const acl = patch.acl === undefined ? undefined : validAcl(patch.acl);
    const record = await this.#dataset(caller, name, acl === undefined ? 'write' : 'admin');
    if (ifEtag === undefined) throw new DatasetPreconditionRequiredError();
    const changed = await this.#registry.updateDataset(
      record.name,
      ifEtag,
      { ...(labels === undefined ? {} : { labels }), ...(acl === undefined ? {} : { acl }) },
      this.#d.clock(),
    );
    if (!changed.ok && changed.reason === 'stale') throw new DatasetStaleError(changed.etag);
    if (!changed.ok)
      throw new DatasetNotFoundError('dataset-not-found', `No dataset named ${name}`);
    return { record: changed.record, versions: await this.#registry.listDatasetVersions(name) };
  }

  /** Soft-deletes (access `admin`, at `ifEtag` when given): hidden, content kept until purged. */
  async remove(
    caller: DatasetActor,
    name: string,
    ifEtag: number | undefined,
  ): Promise<DatasetRecord> {
    const record = await this.#dataset(caller, name, 'admin');
    const gone = await this.#registry.softDelete(record.name, ifEtag, caller, this.#d.clock());
    if (!gone.ok && gone.reason === 'stale') throw new DatasetStaleError(gone.etag);
    if (!gone.ok) throw new DatasetNotFoundError('dataset-not-found', `No dataset named ${name}`);
    return gone.record;
  }

  /**
   * Adds a version (access `write`): `body` is streamed into the blob store under `digest`
   * (400 on a mismatch, 413 past `maxBlobBytes`, nothing kept either way); the same digest again
   * returns the first version with `created: false`. A refused caller's body is never read.
   */
  async addVersion(
    caller: DatasetActor,
    name: string,
    digest: string,
    body: BlobBody,
    signal?: AbortSignal,
  ): Promise<{ record: DatasetVersionRecord; created: boolean }> {
    let record: DatasetRecord;
    try {
      assertDigest(digest);
      record = await this.#dataset(caller, name, 'write');
    } catch (err) {
      stopSource(body, undefined);
      throw err;
    }
    const blob = await this.#d.blobs.put(digest, body, {
      maxBytes: this.#d.limits.maxBlobBytes,
      ...(signal === undefined ? {} : { signal }),
    });
    const added = await this.#registry.addDatasetVersion(
      {
        dataset: record.name,
        digest,
        size: blob.size,
        createdBy: { issuer: caller.issuer, subject: caller.subject },
      },
      this.#d.clock(),
    );
    if (!added.ok) {
      // Deleted while the body arrived: drop what this upload stored unless something uses it.
      if (blob.created && !(await this.#registry.digestInUse(digest))) {
        await this.#d.blobs.delete(digest);
      }
      throw new DatasetNotFoundError('dataset-not-found', `No dataset named ${name}`);
    }
    return { record: added.record, created: added.created };
  }

  /** The versions of a dataset (access `read`), in the order they were added. */
  async versions(caller: DatasetActor, name: string): Promise<DatasetVersionRecord[]> {
    const record = await this.#dataset(caller, name, 'read');
    return this.#registry.listDatasetVersions(record.name);
  }

  /** One version (access `read`); 404 `version-not-found` when the dataset has no such one. */
  async version(caller: DatasetActor, name: string, digest: string): Promise<DatasetVersionRecord> {
    assertDigest(digest);
    const record = await this.#dataset(caller, name, 'read');
    const version = await this.#registry.getDatasetVersion(record.name, digest);
    if (version === undefined) {
      throw new DatasetNotFoundError(
        'version-not-found',
        `Dataset ${name} has no version ${digest}`,
      );
    }
    return version;
  }

  /** A version's content as a stream (access `read`); the caller must consume or destroy it. */
  async open(
    caller: DatasetActor,
    name: string,
    digest: string,
  ): Promise<{ version: DatasetVersionRecord; info: BlobInfo; stream: NodeJS.ReadableStream }> {
    const version = await this.version(caller, name, digest);
    const { info, stream } = await this.#d.blobs.open(digest);
    return { version, info, stream };
  }

  /** Lineage: the model versions trained on a dataset version (access `read`). */
  async modelsTrainedOn(
    caller: DatasetActor,
    name: string,
    digest: string,
  ): Promise<ModelVersionRecord[]> {
    const version = await this.version(caller, name, digest);
    return this.#registry.modelsTrainedOn(version.dataset, version.digest);
  }

  /**
   * The retention job: purges datasets soft-deleted more than `retentionDays` before `now`, then
   * deletes each of their blobs no model version and no remaining dataset version uses. Each
   * purged dataset is an audit event, recorded before its blobs go. One run at a time: a call
   * during a run shares it.
   */
  purge(now: number = this.#d.clock()): Promise<PurgeReport> {
    this.#running ??= this.#purge(now).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #purge(now: number): Promise<PurgeReport> {
    const before = now - this.#d.limits.retentionDays * DAY_MS;
    const purged = await this.#registry.purgeDeleted(before);
    const report: PurgeReport = { datasets: [], deleted: [], kept: [] };
    for (const { name, digests } of purged) {
      report.datasets.push(name);
      const deleted: string[] = [];
      const kept: string[] = [];
      for (const digest of digests) {
        if (await this.#registry.digestInUse(digest)) kept.push(digest);
        else deleted.push(digest);
      }
      await this.#d.audit?.record(
        systemEvent({
          time: now,
          issuer: this.#d.issuer,
          action: 'dataset.purge',
          resource: `dataset:${name}`,
          decision: 'allow',
          reason: `retention: soft-deleted more than ${String(this.#d.limits.retentionDays)} days ago`,
          details: { before: new Date(before).toISOString(), deleted, kept },
        }),
      );
      for (const digest of deleted) await this.#d.blobs.delete(digest);
      report.deleted.push(...deleted);
      report.kept.push(...kept);
    }
    return report;
  }

  /**
   * Runs the retention job now and then every `everyMs` (default daily) on an unref'd timer;
   * failures go to `onError`. `stop` clears the timer and waits for a run in progress.
   */
  startRetention(onError: (err: unknown) => void, everyMs = DAY_MS): { stop: () => Promise<void> } {
    const run = () => {
      this.purge().catch(onError);
    };
    run();
    const timer = setInterval(run, everyMs);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await this.#running?.catch(() => undefined);
      },
    };
  }
}
