/**
 * @module store/backends/sqlite-datasets — datasets and their versions on SQLite: the dataset
 * half of the registry store (sqlite-registry.ts). Edits are one conditional UPDATE on the
 * current etag inside a BEGIN IMMEDIATE transaction, so a stale `If-Match` writes nothing.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  actorText,
  aclText,
  datasetFromRow,
  datasetVersionFromRow,
  principalText,
  type DatasetRow,
  type DatasetVersionRow,
} from '../registry-rows.js';
import type {
  Actor,
  DatasetAclEntry,
  DatasetChangeResult,
  PurgedDataset,
  RegistryStore,
} from '../registry-types.js';
import { attempt, immediate } from './sqlite-tx.js';

/** The dataset methods of {@link RegistryStore}. */
export type DatasetMethods = Pick<
  RegistryStore,
  | 'createDataset'
  | 'getDataset'
  | 'listDatasets'
  | 'updateDataset'
  | 'softDelete'
  | 'addDatasetVersion'
  | 'listDatasetVersions'
  | 'getDatasetVersion'
  | 'purgeDeleted'
  | 'digestInUse'
>;

interface DatasetPatch {
  labels?: string[];
  acl?: DatasetAclEntry[];
}

/** The dataset half of the registry store over `db` (migrations applied). */
export function sqliteDatasets(db: BetterSqlite3.Database): DatasetMethods {
  const q = {
    createDataset: db.prepare(
      `INSERT INTO registry_datasets (name, owner, labels, acl, etag, created_at, updated_at, deleted_at, deleted_by)
       VALUES (?, ?, ?, ?, 1, ?, ?, NULL, NULL) ON CONFLICT (name) DO NOTHING RETURNING *`,
    ),
    dataset: db.prepare('SELECT * FROM registry_datasets WHERE name = ?'),
    datasets: db.prepare('SELECT * FROM registry_datasets WHERE deleted_at IS NULL ORDER BY name'),
    updateDataset: db.prepare(
      `UPDATE registry_datasets SET labels = coalesce(?, labels), acl = coalesce(?, acl),
         etag = etag + 1, updated_at = ?
       WHERE name = ? AND etag = ? AND deleted_at IS NULL RETURNING *`,
    ),
    softDelete: db.prepare(
      `UPDATE registry_datasets SET deleted_at = ?, deleted_by = ?, etag = etag + 1, updated_at = ?
       WHERE name = ? AND deleted_at IS NULL AND (? IS NULL OR etag = ?) RETURNING *`,
    ),
    insertDatasetVersion: db.prepare(
      `INSERT INTO registry_dataset_versions (dataset, digest, size, created_by, created_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (dataset, digest) DO NOTHING RETURNING *`,
    ),
    datasetVersion: db.prepare(
      'SELECT * FROM registry_dataset_versions WHERE dataset = ? AND digest = ?',
    ),
    datasetVersions: db.prepare(
      'SELECT * FROM registry_dataset_versions WHERE dataset = ? ORDER BY seq',
    ),
    purgeable: db.prepare(
      `SELECT name FROM registry_datasets WHERE deleted_at IS NOT NULL AND deleted_at < ?
       ORDER BY name`,
    ),
    deleteDatasetVersions: db.prepare('DELETE FROM registry_dataset_versions WHERE dataset = ?'),
    deleteDataset: db.prepare('DELETE FROM registry_datasets WHERE name = ?'),
    digestInUse: db.prepare(
      `SELECT EXISTS (SELECT 1 FROM registry_versions WHERE artifact_sha256 = @digest)
           OR EXISTS (SELECT 1 FROM registry_dataset_versions WHERE digest = @digest) AS used`,
    ),
  };

  /** The outcome of a conditional dataset UPDATE that returned `row` (undefined: no match). */
  const datasetChange = (name: string, row: DatasetRow | undefined): DatasetChangeResult => {
    if (row !== undefined) return { ok: true, record: datasetFromRow(row) };
    const now = q.dataset.get(name) as DatasetRow | undefined;
    if (now === undefined || now.deleted_at != null) return { ok: false, reason: 'missing' };
    return { ok: false, reason: 'stale', etag: datasetFromRow(now).etag };
  };

  const updateDataset = immediate(
    db,
    (name: string, ifEtag: number, patch: DatasetPatch, now: number): DatasetChangeResult => {
      const row = q.updateDataset.get(
        patch.labels === undefined ? null : JSON.stringify(patch.labels),
        patch.acl === undefined ? null : aclText(patch.acl),
        now,
        name,
        ifEtag,
      ) as DatasetRow | undefined;
      return datasetChange(name, row);
    },
  );

  const softDelete = immediate(
    db,
    (name: string, ifEtag: number | null, actor: Actor, now: number): DatasetChangeResult => {
      const row = q.softDelete.get(now, actorText(actor), now, name, ifEtag, ifEtag) as
        DatasetRow | undefined;
      return datasetChange(name, row);
    },
  );

  const addDatasetVersion = immediate(
    db,
    (input: Parameters<RegistryStore['addDatasetVersion']>[0], now: number) => {
      const ds = q.dataset.get(input.dataset) as DatasetRow | undefined;
      if (ds === undefined || ds.deleted_at != null)
        return { ok: false, reason: 'missing' } as const;
      const inserted = q.insertDatasetVersion.get(
        input.dataset,
        input.digest,
        input.size,
        principalText(input.createdBy),
        now,
      ) as DatasetVersionRow | undefined;
      const row =
        inserted ?? (q.datasetVersion.get(input.dataset, input.digest) as DatasetVersionRow);
      return {
        ok: true,
        created: inserted !== undefined,
        record: datasetVersionFromRow(row),
      } as const;
    },
  );

  const purgeDeleted = immediate(db, (before: number): PurgedDataset[] => {
    const names = (q.purgeable.all(before) as { name: string }[]).map((r) => r.name);
    return names.map((name) => {
      const digests = (q.datasetVersions.all(name) as DatasetVersionRow[]).map((r) => r.digest);
      q.deleteDatasetVersions.run(name);
      q.deleteDataset.run(name);
      return { name, digests };
    });
  });

  return {
    createDataset: (input, now) =>
      attempt('registry.createDataset', () => {
        const row = q.createDataset.get(
          input.name,
          principalText(input.owner),
          JSON.stringify(input.labels),
          aclText(input.acl),
          now,
          now,
        ) as DatasetRow | undefined;
        return row === undefined ? false : datasetFromRow(row);
      }),
    getDataset: (name, options) =>
      attempt('registry.getDataset', () => {
        const row = q.dataset.get(name) as DatasetRow | undefined;
        if (row === undefined || (row.deleted_at != null && options?.includeDeleted !== true)) {
          return undefined;
        }
        return datasetFromRow(row);
      }),
    listDatasets: () =>
      attempt('registry.listDatasets', () =>
        (q.datasets.all() as DatasetRow[]).map(datasetFromRow),
      ),
    updateDataset: (name, ifEtag, patch, now) =>
      attempt('registry.updateDataset', () => updateDataset(name, ifEtag, patch, now)),
    softDelete: (name, ifEtag, actor, now) =>
      attempt('registry.softDelete', () => softDelete(name, ifEtag ?? null, actor, now)),
    addDatasetVersion: (input, now) =>
      attempt('registry.addDatasetVersion', () => addDatasetVersion(input, now)),
    listDatasetVersions: (name) =>
      attempt('registry.listDatasetVersions', () =>
        (q.datasetVersions.all(name) as DatasetVersionRow[]).map(datasetVersionFromRow),
      ),
    getDatasetVersion: (name, digest) =>
      attempt('registry.getDatasetVersion', () => {
        const row = q.datasetVersion.get(name, digest) as DatasetVersionRow | undefined;
        return row && datasetVersionFromRow(row);
      }),
    purgeDeleted: (before) => attempt('registry.purgeDeleted', () => purgeDeleted(before)),
    digestInUse: (digest) =>
      attempt('registry.digestInUse', () => {
        const row = q.digestInUse.get({ digest }) as { used: number };
        return row.used === 1;
      }),
  };
}
