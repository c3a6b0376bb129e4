/**
 * @module http/routes/registry-views — the JSON the registry routes answer with (README "Model
 * registry"): snake_case members, times as ISO-8601 strings, the artifact as `sha256`/`size`.
 */
import type { Deployment } from '../../registry/index.js';
import type { Actor, ModelVersionRecord, TransitionRecord } from '../../store/index.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** An identity as the API shows it. */
export function actorView(a: Actor) {
  return { issuer: a.issuer, subject: a.subject, client_id: a.clientId ?? null };
}

/** `registry.model_version`. */
export function versionView(v: ModelVersionRecord) {
  return {
    object: 'registry.model_version',
    id: v.id,
    model: v.model,
    version: v.version,
    backend: v.backend,
    task: v.task,
    sha256: v.artifactSha256,
    size: v.artifactSize,
    params: v.params,
    datasets: v.datasets,
    metadata: v.metadata,
    status: v.status,
    proposed_by: actorView(v.proposedBy),
    created_at: iso(v.createdAt),
    updated_at: iso(v.updatedAt),
  };
}

/** `registry.deployment`. */
export function deploymentView(d: Deployment) {
  const r = d.record;
  return {
    object: 'registry.deployment',
    model: r.model,
    version: d.version,
    version_id: r.versionId,
    previous_version: d.previousVersion,
    previous_version_id: r.previousId,
    kind: r.kind,
    actor: actorView(r.actor),
    at: iso(r.at),
  };
}

/** One status change. */
export function transitionView(t: TransitionRecord) {
  return { from: t.from, to: t.to, actor: actorView(t.actor), reason: t.reason, at: iso(t.at) };
}

/** An OpenAI-style list. */
export function list<T>(data: T[]) {
  return { object: 'list', data };
}
