/**
 * @module inference/version-spec — a registry version as the inference area loads it: its
 * record read as a `ServingVersion`, and that as the config entry its backend's loader takes
 * (params checked by the same schema as `models:` entries, so a version loads exactly like a
 * config model with the same keys).
 */
import type { ModelConfig } from '../config/index.js';
import { modelSpec } from '../config/index.js';
import type { ServingVersion } from '../registry/index.js';
import type { ModelVersionRecord } from '../store/index.js';
import { ModelParamsInvalidError } from './errors.js';

/** Params keys the version itself sets: a version may not override them through `params`. */
const RESERVED = ['id', 'backend', 'path', 'sha256', 'task'] as const;
/** Task names as the Hugging Face hub writes them, for the tasks this server serves. */
const TASK_ALIASES = new Map<string, string>([
  ['feature-extraction', 'embedding'],
  ['text-classification', 'classification'],
  ['text-generation', 'generation'],
]);
/** The one task of the backends whose config has no `task` key. */
const FIXED_TASK = new Map<string, string>([
  ['tfjs', 'embedding'],
  ['llama-cpp', 'generation'],
]);

/**
 * The task of `version` in this server's words (`embedding`, `classification`, `generation`);
 * the hub's `feature-extraction`, `text-classification` and `text-generation` mean the same.
 */
export function taskOf(version: Pick<ServingVersion, 'task'>): string {
  return TASK_ALIASES.get(version.task) ?? version.task;
}

/** `version` as the config entry the backend's loader takes; 400 naming the key if invalid. */
export function specOf(version: ServingVersion): ModelConfig {
  const what = `version ${String(version.version)} of model ${version.model}`;
  const task = taskOf(version);
  for (const key of RESERVED) {
    if (Object.hasOwn(version.params, key))
      throw new ModelParamsInvalidError(`${what}: params.${key} is set by the version itself`);
  }
  const fixed = FIXED_TASK.get(version.backend);
  if (fixed !== undefined && fixed !== task)
    throw new ModelParamsInvalidError(
      `${what}: backend ${version.backend} serves ${fixed}, not ${task}`,
    );
  const fields: Record<string, unknown> = {
    ...version.params,
    id: version.model,
    backend: version.backend,
    // A folder was verified file by file against its approved manifest while materialized; the
    // backends' own digests (tfjs: model.json + shards, onnx: the .onnx) are not the manifest's.
    ...(version.folder === undefined ? { sha256: version.sha256 } : {}),
    ...(version.backend === 'echo' ? {} : { path: version.folder ?? version.artifactPath }),
    ...(fixed === undefined ? { task } : {}),
  };
  const parsed = modelSpec.safeParse(fields);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => {
    const key = i.path.join('.');
    const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
    // `backend` and the other keys the version sets are named as such, the rest as params.
    const head = i.path[0];
    const own = typeof head === 'string' && Object.hasOwn(version.params, head);
    return `${key === '' ? 'params' : own ? `params.${key}` : key}: ${i.message}${keys}`;
  });
  throw new ModelParamsInvalidError(`${what}: ${issues.join('; ')}`);
}

/** The version as the inference area serves it, from its registry record. */
export function servingVersion(record: ModelVersionRecord, artifactPath: string): ServingVersion {
  return {
    model: record.model,
    versionId: record.id,
    version: record.version,
    backend: record.backend,
    task: record.task,
    sha256: record.artifactSha256,
    size: record.artifactSize,
    artifactPath,
    params: record.params,
  };
}
