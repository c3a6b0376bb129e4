/**
 * @module registry/lineage — the checks a model version's training datasets pass before it is
 * proposed: each dataset version exists (404), the proposer may read it by the policy's dataset
 * patterns and by the dataset's access list (403 `dataset-access`), and the policy's
 * `training.labels` let the model be trained on its labels (403 `training-labels`).
 */
import type { PolicySnapshot } from '../policy/index.js';
import type { DatasetRef, RegistryStore } from '../store/index.js';
import { datasetAccess, grants, type DatasetCaller } from './access.js';
import { assertDigest } from './blobs.js';
import { RegistryDeniedError, RegistryNotFoundError } from './errors.js';
import { validName } from './paths.js';

/** A caller as the registry service sees it: who (for access lists) and what the policy sees. */
export interface RegistryCaller extends DatasetCaller {
  /** The scopes the policy decides on (the token's, or its roles' for an unscoped token). */
  readonly scopes: ReadonlySet<string>;
}

/** Most dataset versions one model version may name. */
export const MAX_DATASETS = 64;

/**
 * Checks every dataset ref of a proposal of `model` by `caller` against the store and the policy
 * snapshot `policy`; returns the refs (validated, duplicates dropped) or throws the first refusal.
 */
export async function checkLineage(
  store: RegistryStore,
  policy: PolicySnapshot,
  caller: RegistryCaller,
  model: string,
  refs: readonly DatasetRef[],
): Promise<DatasetRef[]> {
  const unique = new Map<string, DatasetRef>();
  for (const ref of refs) {
    const name = validName(ref.name);
    const digest = assertDigest(ref.digest);
    unique.set(`${name}@${digest}`, { name, digest });
  }
  for (const { name, digest } of unique.values()) {
    const dataset = await store.getDataset(name);
    if (dataset === undefined) {
      throw new RegistryNotFoundError('dataset-not-found', `No dataset ${name} exists`);
    }
    if ((await store.getDatasetVersion(name, digest)) === undefined) {
      throw new RegistryNotFoundError(
        'dataset-version-not-found',
        `Dataset ${name} has no version ${digest}`,
      );
    }
    const byPolicy = policy.decide({
      roles: caller.roles,
      scopes: caller.scopes,
      action: 'datasets:read',
      resource: `dataset:${name}`,
    });
    // The policy's own reason stays in the log and the audit trail; the caller hears the rule.
    if (!byPolicy.allowed) {
      throw new RegistryDeniedError(
        'dataset-access',
        `The policy does not allow you datasets:read on dataset ${name}`,
      );
    }
    if (!grants(datasetAccess(caller, dataset), 'read')) {
      throw new RegistryDeniedError(
        'dataset-access',
        `The access list of dataset ${name} does not grant you read`,
      );
    }
    const use = policy.trainingUse(dataset.labels, model);
    if (!use.allowed) {
      throw new RegistryDeniedError(
        'training-labels',
        `Dataset ${name} may not train model ${model} (policy rule training.labels): ${use.reason}`,
      );
    }
  }
  return [...unique.values()];
}
