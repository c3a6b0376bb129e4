/**
 * @module store/backends/sqlite-registry — the registry store on SQLite. Every write runs in one
 * `BEGIN IMMEDIATE` transaction: it takes the database's write lock before its first read, so a
 * second connection (another process on the same file) waits (busy_timeout) instead of reading
 * the same state, and never fails mid-way on a lock upgrade. better-sqlite3 runs a transaction
 * synchronously, so nothing else in this process interleaves with it either.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { canTransition, uuidv7 } from '../registry-rules.js';
import {
  actorText,
  deploymentFromRow,
  transitionFromRow,
  uniqueRefs,
  versionFromRow,
  versionToRow,
  type DeploymentRow,
  type TransitionRow,
  type VersionRow,
} from '../registry-rows.js';
import type {
  Actor,
  DeployResult,
  ModelVersionRecord,
  RegistryStore,
  VersionRefusal,
  VersionStatus,
} from '../registry-types.js';
import { sqliteDatasets } from './sqlite-datasets.js';
import { attempt, immediate } from './sqlite-tx.js';

/** The registry store over `db` (migrations applied). */
export function sqliteRegistry(db: BetterSqlite3.Database): RegistryStore {
  const q = {
    liveVersionOf: db.prepare(
      `SELECT 1 FROM registry_dataset_versions v JOIN registry_datasets d ON d.name = v.dataset
       WHERE v.dataset = ? AND v.digest = ? AND d.deleted_at IS NULL`,
    ),
    nextVersion: db.prepare(
      `INSERT INTO registry_models (model, last_version, created_at) VALUES (?, 1, ?)
       ON CONFLICT (model) DO UPDATE SET last_version = registry_models.last_version + 1
       RETURNING last_version`,
    ),
    insertVersion: db.prepare(
      `INSERT INTO registry_versions (id, model, version, backend, task, artifact_sha256, artifact_size, params, proposed_by, datasets, metadata, status, created_at, updated_at)
       VALUES (@id, @model, @version, @backend, @task, @artifact_sha256, @artifact_size, @params, @proposed_by, @datasets, @metadata, @status, @created_at, @updated_at)`,
    ),
    insertLineage: db.prepare(
      'INSERT INTO registry_lineage (version_id, dataset, digest) VALUES (?, ?, ?)',
    ),
    insertTransition: db.prepare(
      `INSERT INTO registry_transitions (version_id, from_status, to_status, actor, reason, at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    version: db.prepare('SELECT * FROM registry_versions WHERE id = ?'),
    versions: db.prepare('SELECT * FROM registry_versions WHERE model = ? ORDER BY version'),
    models: db.prepare('SELECT model FROM registry_models ORDER BY model'),
    history: db.prepare('SELECT * FROM registry_transitions WHERE version_id = ? ORDER BY seq'),
    setStatus: db.prepare(
      `UPDATE registry_versions SET status = ?, updated_at = ? WHERE id = ? AND status = ?
       RETURNING *`,
    ),
    demoteActive: db.prepare(
      `UPDATE registry_versions SET status = 'approved', updated_at = ?
       WHERE model = ? AND status = 'active' RETURNING *`,
    ),
    active: db.prepare("SELECT * FROM registry_versions WHERE model = ? AND status = 'active'"),
    insertDeployment: db.prepare(
      `INSERT INTO registry_deployments (model, version_id, previous_id, kind, actor, at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    lastDeployment: db.prepare(
      'SELECT * FROM registry_deployments WHERE model = ? ORDER BY seq DESC LIMIT 1',
    ),
    deployments: db.prepare('SELECT * FROM registry_deployments WHERE model = ? ORDER BY seq'),
    trainedOn: db.prepare(
      `SELECT v.* FROM registry_lineage l JOIN registry_versions v ON v.id = l.version_id
       WHERE l.dataset = ? AND l.digest = ? ORDER BY v.model, v.version`,
    ),
    lineageOf: db.prepare(
      `SELECT dataset AS name, digest FROM registry_lineage WHERE version_id = ?
       ORDER BY dataset, digest`,
    ),
  };

  const getVersion = (id: string): ModelVersionRecord | undefined => {
    const row = q.version.get(id) as VersionRow | undefined;
    return row && versionFromRow(row);
  };
  const refusal = (id: string): VersionRefusal => {
    const current = getVersion(id)?.status;
    return current === undefined
      ? { ok: false, reason: 'missing' }
      : { ok: false, reason: 'conflict', versionId: id, current };
  };
  const logTransition = (
    id: string,
    from: VersionStatus | null,
    to: VersionStatus,
    actor: Actor,
    reason: string | null,
    now: number,
  ): void => void q.insertTransition.run(id, from, to, actorText(actor), reason, now);

  const propose = immediate(
    db,
    (input: Parameters<RegistryStore['proposeVersion']>[0], now: number) => {
      const datasets = uniqueRefs(input.datasets);
      for (const d of datasets) {
        if (q.liveVersionOf.get(d.name, d.digest) === undefined) {
          return { ok: false, reason: 'missing-dataset', dataset: d } as const;
        }
      }
      const { last_version } = q.nextVersion.get(input.model, now) as { last_version: number };
      const record: ModelVersionRecord = {
        id: input.id ?? uuidv7(now),
        model: input.model,
        version: last_version,
        backend: input.backend,
        task: input.task,
        artifactSha256: input.artifactSha256,
        artifactSize: input.artifactSize,
        params: input.params,
        proposedBy: input.proposedBy,
        datasets,
        metadata: input.metadata,
        status: 'proposed',
        createdAt: now,
        updatedAt: now,
      };
      const row = versionToRow(record);
      q.insertVersion.run(row);
      for (const d of datasets) q.insertLineage.run(record.id, d.name, d.digest);
      logTransition(record.id, null, 'proposed', input.proposedBy, null, now);
      // Read back, so the caller gets exactly what a later read returns.
      return { ok: true, record: versionFromRow(row) } as const;
    },
  );

  const transition = immediate(
    db,
    (
      id: string,
      from: VersionStatus,
      to: VersionStatus,
      actor: Actor,
      reason: string | null,
      now: number,
    ) => {
      if (!canTransition(from, to)) return refusal(id);
      const row = q.setStatus.get(to, now, id, from) as VersionRow | undefined;
      if (row === undefined) return refusal(id);
      logTransition(id, from, to, actor, reason, now);
      return { ok: true, record: versionFromRow(row) } as const;
    },
  );

  /** Makes `id` the active version of `model` (caller holds the write lock). */
  const activate = (
    model: string,
    id: string,
    kind: 'deploy' | 'rollback',
    actor: Actor,
    now: number,
  ): DeployResult => {
    const target = getVersion(id);
    if (target?.model !== model) return { ok: false, reason: 'missing' };
    if (target.status !== 'approved') return refusal(id);
    const demoted = q.demoteActive.get(now, model) as VersionRow | undefined;
    const row = q.setStatus.get('active', now, id, 'approved') as VersionRow;
    const previous = demoted && versionFromRow(demoted);
    if (previous) logTransition(previous.id, 'active', 'approved', actor, kind, now);
    logTransition(id, 'approved', 'active', actor, kind, now);
    const previousId = previous?.id ?? null;
    q.insertDeployment.run(model, id, previousId, kind, actorText(actor), now);
    return {
      ok: true,
      current: versionFromRow(row),
      previous,
      deployment: { model, versionId: id, previousId, kind, actor: actorOf(actor), at: now },
    };
  };

  const deploy = immediate(db, (model: string, id: string, actor: Actor, now: number) =>
    activate(model, id, 'deploy', actor, now),
  );

  const rollback = immediate(db, (model: string, actor: Actor, now: number): DeployResult => {
    const last = q.lastDeployment.get(model) as DeploymentRow | undefined;
    if (last?.previous_id == null) return { ok: false, reason: 'missing' };
    return activate(model, last.previous_id, 'rollback', actor, now);
  });

  return {
    ...sqliteDatasets(db),
    proposeVersion: (input, now) => attempt('registry.proposeVersion', () => propose(input, now)),
    getVersion: (id) => attempt('registry.getVersion', () => getVersion(id)),
    listVersions: (model) =>
      attempt('registry.listVersions', () =>
        (q.versions.all(model) as VersionRow[]).map(versionFromRow),
      ),
    listModels: () =>
      attempt('registry.listModels', () =>
        (q.models.all() as { model: string }[]).map((r) => r.model),
      ),
    history: (id) =>
      attempt('registry.history', () =>
        (q.history.all(id) as TransitionRow[]).map(transitionFromRow),
      ),
    transition: (id, from, to, actor, reason, now) =>
      attempt('registry.transition', () => transition(id, from, to, actor, reason, now)),
    deploy: (model, id, actor, now) =>
      attempt('registry.deploy', () => deploy(model, id, actor, now)),
    rollback: (model, actor, now) =>
      attempt('registry.rollback', () => rollback(model, actor, now)),
    activeVersion: (model) =>
      attempt('registry.activeVersion', () => {
        const row = q.active.get(model) as VersionRow | undefined;
        return row && versionFromRow(row);
      }),
    deployments: (model) =>
      attempt('registry.deployments', () =>
        (q.deployments.all(model) as DeploymentRow[]).map(deploymentFromRow),
      ),

    modelsTrainedOn: (dataset, digest) =>
      attempt('registry.modelsTrainedOn', () =>
        (q.trainedOn.all(dataset, digest) as VersionRow[]).map(versionFromRow),
      ),
    datasetsOf: (id) =>
      attempt('registry.datasetsOf', () =>
        q.version.get(id) === undefined
          ? undefined
          : (q.lineageOf.all(id) as { name: string; digest: string }[]),
      ),
  };
}

/** The actor as it reads back from the store. */
function actorOf(a: Actor): Actor {
  return JSON.parse(actorText(a)) as Actor;
}
