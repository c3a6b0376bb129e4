/**
 * @module store/registry-rows — the registry tables' rows and their mapping to records, shared
 * by both SQL backends. JSON columns are TEXT holding JSON; BIGINTs may arrive as strings (pg).
 */
import { int } from './audit-rows.js';
import type {
  Actor,
  DatasetRecord,
  DatasetRef,
  DatasetVersionRecord,
  DeploymentRecord,
  ModelVersionRecord,
  Principal,
  TransitionRecord,
  VersionStatus,
} from './registry-types.js';

/** A `registry_versions` row as either driver returns it. */
export interface VersionRow {
  id: string;
  model: string;
  version: unknown;
  backend: string;
  task: string;
  artifact_sha256: string;
  artifact_size: unknown;
  params: string;
  proposed_by: string;
  datasets: string;
  metadata: string;
  status: string;
  created_at: unknown;
  updated_at: unknown;
}

/** A `registry_transitions` row. */
export interface TransitionRow {
  version_id: string;
  from_status: string | null;
  to_status: string;
  actor: string;
  reason: string | null;
  at: unknown;
}

/** A `registry_deployments` row. */
export interface DeploymentRow {
  model: string;
  version_id: string;
  previous_id: string | null;
  kind: string;
  actor: string;
  at: unknown;
}

/** A `registry_datasets` row. */
export interface DatasetRow {
  name: string;
  owner: string;
  labels: string;
  acl: string;
  etag: unknown;
  created_at: unknown;
  updated_at: unknown;
  deleted_at: unknown;
  deleted_by: string | null;
}

/** A `registry_dataset_versions` row. */
export interface DatasetVersionRow {
  dataset: string;
  digest: string;
  size: unknown;
  created_by: string;
  created_at: unknown;
}

/** An actor as stored: fixed key order, `clientId` only when present. */
export function actorText(a: Actor): string {
  return JSON.stringify(
    a.clientId === undefined
      ? { issuer: a.issuer, subject: a.subject }
      : { issuer: a.issuer, subject: a.subject, clientId: a.clientId },
  );
}

/** A principal as stored. */
export function principalText(p: Principal): string {
  return JSON.stringify({ issuer: p.issuer, subject: p.subject });
}

/** An access list as stored: only the two known keys of each entry. */
export function aclText(acl: readonly { principal: string; access: string }[]): string {
  return JSON.stringify(acl.map(({ principal, access }) => ({ principal, access })));
}

/** The dataset references of a proposal, each (name, digest) once, in first-seen order. */
export function uniqueRefs(refs: readonly DatasetRef[]): DatasetRef[] {
  const seen = new Set<string>();
  const out: DatasetRef[] = [];
  for (const r of refs) {
    const key = JSON.stringify([r.name, r.digest]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: r.name, digest: r.digest });
  }
  return out;
}

/** The columns of a new `registry_versions` row, in insert order. */
export function versionToRow(v: ModelVersionRecord): VersionRow {
  return {
    id: v.id,
    model: v.model,
    version: v.version,
    backend: v.backend,
    task: v.task,
    artifact_sha256: v.artifactSha256,
    artifact_size: v.artifactSize,
    params: JSON.stringify(v.params),
    proposed_by: actorText(v.proposedBy),
    datasets: JSON.stringify(v.datasets),
    metadata: JSON.stringify(v.metadata),
    status: v.status,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}

export function versionFromRow(r: VersionRow): ModelVersionRecord {
  return {
    id: r.id,
    model: r.model,
    version: int(r.version),
    backend: r.backend,
    task: r.task,
    artifactSha256: r.artifact_sha256,
    artifactSize: int(r.artifact_size),
    params: JSON.parse(r.params) as Record<string, unknown>,
    proposedBy: JSON.parse(r.proposed_by) as Actor,
    datasets: JSON.parse(r.datasets) as DatasetRef[],
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    status: r.status as VersionStatus,
    createdAt: int(r.created_at),
    updatedAt: int(r.updated_at),
  };
}

export function transitionFromRow(r: TransitionRow): TransitionRecord {
  return {
    versionId: r.version_id,
    from: r.from_status as VersionStatus | null,
    to: r.to_status as VersionStatus,
    actor: JSON.parse(r.actor) as Actor,
    reason: r.reason,
    at: int(r.at),
  };
}

export function deploymentFromRow(r: DeploymentRow): DeploymentRecord {
  return {
    model: r.model,
    versionId: r.version_id,
    previousId: r.previous_id,
    kind: r.kind as DeploymentRecord['kind'],
    actor: JSON.parse(r.actor) as Actor,
    at: int(r.at),
  };
}

export function datasetFromRow(r: DatasetRow): DatasetRecord {
  return {
    name: r.name,
    owner: JSON.parse(r.owner) as Principal,
    labels: JSON.parse(r.labels) as string[],
    acl: JSON.parse(r.acl) as DatasetRecord['acl'],
    etag: int(r.etag),
    createdAt: int(r.created_at),
    updatedAt: int(r.updated_at),
    deletedAt: r.deleted_at == null ? null : int(r.deleted_at),
    deletedBy: r.deleted_by === null ? null : (JSON.parse(r.deleted_by) as Actor),
  };
}

export function datasetVersionFromRow(r: DatasetVersionRow): DatasetVersionRecord {
  return {
    dataset: r.dataset,
    digest: r.digest,
    size: int(r.size),
    createdBy: JSON.parse(r.created_by) as Principal,
    createdAt: int(r.created_at),
  };
}
