/**
 * @module store/backends/postgres-registry — the registry store on PostgreSQL (READ COMMITTED).
 * Races between replicas are settled by row locks, never by reading first and writing later:
 * - version numbers: an upsert on the model's `registry_models` row (`last_version + 1`), which
 *   row-locks it, so concurrent proposals of one model queue and each gets the next number;
 * - transitions: one conditional UPDATE (`… WHERE status = $from`); a loser re-checks the
 *   condition on the winner's row and matches nothing (dataset edits: postgres-datasets.ts);
 * - deploy and rollback: `SELECT … FOR UPDATE` on the model's row first, so they take turns per
 *   model; the status moves inside are conditional UPDATEs too, so a concurrent `transition`
 *   (say approved → retired) makes the deploy refuse, never half-apply; a partial unique index
 *   allows at most one active version per model whatever happens;
 * - proposals and dataset versions lock their dataset rows `FOR SHARE`, so a soft delete cannot
 *   commit between the check that a dataset is live and the write that relies on it.
 */
import type { Pool } from 'pg';
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
import { postgresDatasets } from './postgres-datasets.js';
import { onPool, op, transaction, type Q } from './postgres-tx.js';

/** A refusal found after something was written: thrown to roll back, then returned. */
class Refused extends Error {
  constructor(readonly result: VersionRefusal) {
    super('refused');
  }
}

const VERSION_INSERT = `INSERT INTO registry_versions (id, model, version, backend, task, artifact_sha256, artifact_size, params, proposed_by, datasets, metadata, status, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;

const SET_STATUS = `UPDATE registry_versions SET status = $3, updated_at = $4
  WHERE id = $1 AND status = $2 RETURNING *`;

const LOG_TRANSITION = `INSERT INTO registry_transitions (version_id, from_status, to_status, actor, reason, at)
  VALUES ($1, $2, $3, $4, $5, $6)`;

/** The registry store over `pool` (migrations applied). */
export function postgresRegistry(pool: Pool): RegistryStore {
  const read = onPool(pool);

  const versionIn = async (q: Q, id: string): Promise<ModelVersionRecord | undefined> => {
    const [row] = await q<VersionRow>('SELECT * FROM registry_versions WHERE id = $1', [id]);
    return row && versionFromRow(row);
  };
  const refusal = async (q: Q, id: string): Promise<VersionRefusal> => {
    const current = (await versionIn(q, id))?.status;
    return current === undefined
      ? { ok: false, reason: 'missing' }
      : { ok: false, reason: 'conflict', versionId: id, current };
  };
  const log = async (
    q: Q,
    id: string,
    from: VersionStatus | null,
    to: VersionStatus,
    actor: Actor,
    reason: string | null,
    now: number,
  ): Promise<void> => {
    await q(LOG_TRANSITION, [id, from, to, actorText(actor), reason, now]);
  };

  /** Makes `id` the active version of `model`; the caller holds the model row's lock. */
  const activate = async (
    q: Q,
    model: string,
    id: string,
    kind: 'deploy' | 'rollback',
    actor: Actor,
    now: number,
  ): Promise<DeployResult> => {
    const target = await versionIn(q, id);
    if (target?.model !== model) return { ok: false, reason: 'missing' };
    if (target.status !== 'approved') return refusal(q, id);
    const [demoted] = await q<VersionRow>(
      `UPDATE registry_versions SET status = 'approved', updated_at = $2
       WHERE model = $1 AND status = 'active' RETURNING *`,
      [model, now],
    );
    const [row] = await q<VersionRow>(SET_STATUS, [id, 'approved', 'active', now]);
    // Retired or rejected since it was read: undo the demotion too.
    if (row === undefined) throw new Refused(await refusal(q, id));
    const previous = demoted && versionFromRow(demoted);
    if (previous) await log(q, previous.id, 'active', 'approved', actor, kind, now);
    await log(q, id, 'approved', 'active', actor, kind, now);
    const [dep] = await q<DeploymentRow>(
      `INSERT INTO registry_deployments (model, version_id, previous_id, kind, actor, at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [model, id, previous?.id ?? null, kind, actorText(actor), now],
    );
    if (dep === undefined) throw new Error('deployment row not returned');
    return { ok: true, current: versionFromRow(row), previous, deployment: deploymentFromRow(dep) };
  };

  /** Locks `model`'s row for the rest of the transaction; false if it has no versions. */
  const lockModel = async (q: Q, model: string): Promise<boolean> =>
    (await q('SELECT 1 FROM registry_models WHERE model = $1 FOR UPDATE', [model])).length > 0;

  return {
    ...postgresDatasets(pool),
    proposeVersion: (input, now) =>
      op('registry.proposeVersion', () =>
        transaction(pool, async (q) => {
          const datasets = uniqueRefs(input.datasets);
          for (const d of datasets) {
            const live = await q(
              `SELECT 1 FROM registry_datasets ds JOIN registry_dataset_versions v
                 ON v.dataset = ds.name AND v.digest = $2
               WHERE ds.name = $1 AND ds.deleted_at IS NULL FOR SHARE OF ds`,
              [d.name, d.digest],
            );
            if (live.length === 0) {
              return { ok: false, reason: 'missing-dataset', dataset: d } as const;
            }
          }
          const [next] = await q<{ last_version: number }>(
            `INSERT INTO registry_models (model, last_version, created_at) VALUES ($1, 1, $2)
             ON CONFLICT (model) DO UPDATE SET last_version = registry_models.last_version + 1
             RETURNING last_version`,
            [input.model, now],
          );
          if (next === undefined) throw new Error('version number not returned');
          const row = versionToRow({
            id: input.id ?? uuidv7(now),
            model: input.model,
            version: next.last_version,
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
          });
          await q(VERSION_INSERT, Object.values(row));
          if (datasets.length > 0) {
            await q(
              `INSERT INTO registry_lineage (version_id, dataset, digest)
               SELECT $1, * FROM unnest($2::text[], $3::text[])`,
              [row.id, datasets.map((d) => d.name), datasets.map((d) => d.digest)],
            );
          }
          await log(q, row.id, null, 'proposed', input.proposedBy, null, now);
          return { ok: true, record: versionFromRow(row) } as const;
        }),
      ),
    getVersion: (id) => op('registry.getVersion', () => versionIn(read, id)),
    listVersions: (model) =>
      op('registry.listVersions', async () =>
        (
          await read<VersionRow>(
            'SELECT * FROM registry_versions WHERE model = $1 ORDER BY version',
            [model],
          )
        ).map(versionFromRow),
      ),
    listModels: () =>
      op('registry.listModels', async () =>
        (
          await read<{ model: string }>(
            'SELECT model FROM registry_models ORDER BY model COLLATE "C"',
          )
        ).map((r) => r.model),
      ),
    history: (id) =>
      op('registry.history', async () =>
        (
          await read<TransitionRow>(
            'SELECT * FROM registry_transitions WHERE version_id = $1 ORDER BY seq',
            [id],
          )
        ).map(transitionFromRow),
      ),
    transition: (id, from, to, actor, reason, now) =>
      op('registry.transition', async () => {
        if (!canTransition(from, to)) return refusal(read, id);
        return transaction(pool, async (q) => {
          const [row] = await q<VersionRow>(SET_STATUS, [id, from, to, now]);
          if (row === undefined) return refusal(q, id);
          await log(q, id, from, to, actor, reason, now);
          return { ok: true, record: versionFromRow(row) } as const;
        });
      }),
    deploy: (model, id, actor, now) =>
      op('registry.deploy', () =>
        transaction(pool, async (q): Promise<DeployResult> => {
          if (!(await lockModel(q, model))) return { ok: false, reason: 'missing' };
          return activate(q, model, id, 'deploy', actor, now);
        }).catch(refused),
      ),
    rollback: (model, actor, now) =>
      op('registry.rollback', () =>
        transaction(pool, async (q): Promise<DeployResult> => {
          if (!(await lockModel(q, model))) return { ok: false, reason: 'missing' };
          const [last] = await q<DeploymentRow>(
            'SELECT * FROM registry_deployments WHERE model = $1 ORDER BY seq DESC LIMIT 1',
            [model],
          );
          if (last?.previous_id == null) return { ok: false, reason: 'missing' };
          return activate(q, model, last.previous_id, 'rollback', actor, now);
        }).catch(refused),
      ),
    activeVersion: (model) =>
      op('registry.activeVersion', async () => {
        const [row] = await read<VersionRow>(
          "SELECT * FROM registry_versions WHERE model = $1 AND status = 'active'",
          [model],
        );
        return row && versionFromRow(row);
      }),
    deployments: (model) =>
      op('registry.deployments', async () =>
        (
          await read<DeploymentRow>(
            'SELECT * FROM registry_deployments WHERE model = $1 ORDER BY seq',
            [model],
          )
        ).map(deploymentFromRow),
      ),

    modelsTrainedOn: (dataset, digest) =>
      op('registry.modelsTrainedOn', async () =>
        (
          await read<VersionRow>(
            `SELECT v.* FROM registry_lineage l JOIN registry_versions v ON v.id = l.version_id
             WHERE l.dataset = $1 AND l.digest = $2 ORDER BY v.model COLLATE "C", v.version`,
            [dataset, digest],
          )
        ).map(versionFromRow),
      ),
    datasetsOf: (id) =>
      op('registry.datasetsOf', async () => {
        if ((await versionIn(read, id)) === undefined) return undefined;
        return read<{ name: string; digest: string }>(
          `SELECT dataset AS name, digest FROM registry_lineage WHERE version_id = $1
           ORDER BY dataset COLLATE "C", digest COLLATE "C"`,
          [id],
        );
      }),
  };
}

/** The refusal a deploy or rollback threw to roll back; anything else is rethrown. */
function refused(err: unknown): VersionRefusal {
  if (err instanceof Refused) return err.result;
  throw err;
}
