/**
 * @module store/backends/postgres-datasets — datasets and their versions on PostgreSQL: the
 * dataset half of the registry store (postgres-registry.ts). Edits are one conditional UPDATE
 * on the current etag (a loser re-checks it on the winner's row and matches nothing); a new
 * version locks its dataset row FOR SHARE so a soft delete cannot slip in between.
 */
import type { Pool } from 'pg';
import {
  aclText,
  actorText,
  datasetFromRow,
  datasetVersionFromRow,
  principalText,
  type DatasetRow,
  type DatasetVersionRow,
} from '../registry-rows.js';
import type { DatasetChangeResult, RegistryStore } from '../registry-types.js';
import { onPool, op, transaction, type Q } from './postgres-tx.js';

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

/** The dataset half of the registry store over `pool` (migrations applied). */
export function postgresDatasets(pool: Pool): DatasetMethods {
  const read = onPool(pool);

  const datasetChange = async (
    q: Q,
    name: string,
    row: DatasetRow | undefined,
  ): Promise<DatasetChangeResult> => {
    if (row !== undefined) return { ok: true, record: datasetFromRow(row) };
    const [now] = await q<DatasetRow>('SELECT * FROM registry_datasets WHERE name = $1', [name]);
    if (now === undefined || now.deleted_at != null) return { ok: false, reason: 'missing' };
    return { ok: false, reason: 'stale', etag: datasetFromRow(now).etag };
  };

  return {
    createDataset: (input, now) =>
      op('registry.createDataset', async () => {
        const [row] = await read<DatasetRow>(
          `INSERT INTO registry_datasets (name, owner, labels, acl, etag, created_at, updated_at, deleted_at, deleted_by)
           VALUES ($1, $2, $3, $4, 1, $5, $5, NULL, NULL) ON CONFLICT (name) DO NOTHING RETURNING *`,
          [
            input.name,
            principalText(input.owner),
            JSON.stringify(input.labels),
            aclText(input.acl),
            now,
          ],
        );
        return row === undefined ? false : datasetFromRow(row);
      }),
    getDataset: (name, options) =>
      op('registry.getDataset', async () => {
        const [row] = await read<DatasetRow>('SELECT * FROM registry_datasets WHERE name = $1', [
          name,
        ]);
        if (row === undefined || (row.deleted_at != null && options?.includeDeleted !== true)) {
          return undefined;
        }
        return datasetFromRow(row);
      }),
    listDatasets: () =>
      op('registry.listDatasets', async () =>
        (
          await read<DatasetRow>(
            'SELECT * FROM registry_datasets WHERE deleted_at IS NULL ORDER BY name COLLATE "C"',
          )
        ).map(datasetFromRow),
      ),
    updateDataset: (name, ifEtag, patch, now) =>
      op('registry.updateDataset', async () => {
        const [row] = await read<DatasetRow>(
          `UPDATE registry_datasets SET labels = coalesce($3, labels), acl = coalesce($4, acl),
             etag = etag + 1, updated_at = $5
           WHERE name = $1 AND etag = $2 AND deleted_at IS NULL RETURNING *`,
          [
            name,
            ifEtag,
            patch.labels === undefined ? null : JSON.stringify(patch.labels),
            patch.acl === undefined ? null : aclText(patch.acl),
            now,
          ],
        );
        return datasetChange(read, name, row);
      }),
    softDelete: (name, ifEtag, actor, now) =>
      op('registry.softDelete', async () => {
        const [row] = await read<DatasetRow>(
          `UPDATE registry_datasets SET deleted_at = $3, deleted_by = $4, etag = etag + 1, updated_at = $3
           WHERE name = $1 AND deleted_at IS NULL AND ($2::integer IS NULL OR etag = $2::integer)
           RETURNING *`,
          [name, ifEtag ?? null, now, actorText(actor)],
        );
        return datasetChange(read, name, row);
      }),
    addDatasetVersion: (input, now) =>
      op('registry.addDatasetVersion', () =>
        transaction(pool, async (q) => {
          const live = await q(
            `SELECT 1 FROM registry_datasets WHERE name = $1 AND deleted_at IS NULL FOR SHARE`,
            [input.dataset],
          );
          if (live.length === 0) return { ok: false, reason: 'missing' } as const;
          const [inserted] = await q<DatasetVersionRow>(
            `INSERT INTO registry_dataset_versions (dataset, digest, size, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset, digest) DO NOTHING RETURNING *`,
            [input.dataset, input.digest, input.size, principalText(input.createdBy), now],
          );
          // A concurrent insert of the same digest has committed by now (ON CONFLICT waited).
          const [row] =
            inserted === undefined
              ? await q<DatasetVersionRow>(
                  'SELECT * FROM registry_dataset_versions WHERE dataset = $1 AND digest = $2',
                  [input.dataset, input.digest],
                )
              : [inserted];
          if (row === undefined) throw new Error('dataset version vanished');
          const record = datasetVersionFromRow(row);
          return { ok: true, created: inserted !== undefined, record } as const;
        }),
      ),
    listDatasetVersions: (name) =>
      op('registry.listDatasetVersions', async () =>
        (
          await read<DatasetVersionRow>(
            'SELECT * FROM registry_dataset_versions WHERE dataset = $1 ORDER BY seq',
            [name],
          )
        ).map(datasetVersionFromRow),
      ),
    getDatasetVersion: (name, digest) =>
      op('registry.getDatasetVersion', async () => {
        const [row] = await read<DatasetVersionRow>(
          'SELECT * FROM registry_dataset_versions WHERE dataset = $1 AND digest = $2',
          [name, digest],
        );
        return row && datasetVersionFromRow(row);
      }),
    purgeDeleted: (before) =>
      op('registry.purgeDeleted', async () => {
        // One statement: of two replicas purging at once, each dataset goes to exactly one.
        const rows = await read<{ name: string; digest: string | null }>(
          `WITH d AS (
             DELETE FROM registry_datasets WHERE deleted_at IS NOT NULL AND deleted_at < $1
             RETURNING name
           ), v AS (
             DELETE FROM registry_dataset_versions WHERE dataset IN (SELECT name FROM d)
             RETURNING dataset, digest, seq
           )
           SELECT d.name, v.digest FROM d LEFT JOIN v ON v.dataset = d.name
           ORDER BY d.name COLLATE "C", v.seq`,
          [before],
        );
        const purged = new Map<string, string[]>();
        for (const r of rows) {
          const digests = purged.get(r.name) ?? [];
          if (r.digest !== null) digests.push(r.digest);
          purged.set(r.name, digests);
        }
        return [...purged].map(([name, digests]) => ({ name, digests }));
      }),
    digestInUse: (digest) =>
      op('registry.digestInUse', async () => {
        const [row] = await read<{ used: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM registry_versions WHERE artifact_sha256 = $1)
               OR EXISTS (SELECT 1 FROM registry_dataset_versions WHERE digest = $1) AS used`,
          [digest],
        );
        return row?.used === true;
      }),
  };
}
