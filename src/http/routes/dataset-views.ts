/**
 * @module http/routes/dataset-views — what the dataset routes send and read besides their bodies:
 * the JSON shapes of datasets, versions and lineage (times as ISO-8601), the `If-Match` header,
 * the caller as the access list sees it, and the error answer of a dataset refusal, whose `code`
 * is the refusal's stable reason (`dataset-access`, `etag-stale`, `digest-mismatch`, …).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import { DatasetStaleError, RegistryInputError, type DatasetActor } from '../../registry/index.js';
import type { DatasetRecord, DatasetVersionRecord, ModelVersionRecord } from '../../store/index.js';
import { handleError, MissingTokenError, openAIType } from '../errors.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A dataset version as the API shows it. */
export function versionView(v: DatasetVersionRecord) {
  return {
    object: 'dataset.version',
    dataset: v.dataset,
    digest: v.digest,
    size: v.size,
    created_by: { issuer: v.createdBy.issuer, subject: v.createdBy.subject },
    created_at: iso(v.createdAt),
  };
}

/** A dataset's metadata as the API shows it; `versions` when they were read. */
export function datasetView(d: DatasetRecord, versions?: readonly DatasetVersionRecord[]) {
  return {
    object: 'dataset',
    name: d.name,
    owner: { issuer: d.owner.issuer, subject: d.owner.subject },
    labels: d.labels,
    acl: d.acl.map(({ principal, access }) => ({ principal, access })),
    etag: String(d.etag),
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    ...(d.deletedAt === null ? {} : { deleted_at: iso(d.deletedAt) }),
    ...(versions === undefined ? {} : { versions: versions.map(versionView) }),
  };
}

/** A model version trained on a dataset version (lineage), as far as this API shows it. */
export function trainedView(m: ModelVersionRecord) {
  return {
    object: 'registry.model_version',
    id: m.id,
    model: m.model,
    version: m.version,
    status: m.status,
    sha256: m.artifactSha256,
    created_at: iso(m.createdAt),
  };
}

/** The `ETag` header value of a dataset at `etag`. */
export const etagHeader = (etag: number | string): string => `"${String(etag)}"`;

const STRONG = /^"([\x21\x23-\x7e]*)"$/;
const WEAK = /^W\/"[\x21\x23-\x7e]*"$/;

/**
 * The etag `If-Match` names: undefined when absent. One entity tag is accepted; a weak one or
 * one that is not a dataset etag can never match (RFC 9110 §13.1.1 strong comparison), so it
 * reads as 0, which no dataset is at (412). `*` and lists are refused (400): a change must name
 * the version it was made against.
 */
export function ifMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  const strong = STRONG.exec(value);
  if (strong !== null) return /^[1-9]\d{0,14}$/.test(strong[1] ?? '') ? Number(strong[1]) : 0;
  if (WEAK.test(value)) return 0;
  throw new RegistryInputError(
    'if-match-invalid',
    'If-Match must be one entity tag, the dataset\'s current "etag"',
  );
}

/** The verified caller as the dataset service sees it. */
export function actorOf(request: FastifyRequest): DatasetActor {
  const who = request.identity;
  if (who === undefined) throw new MissingTokenError();
  return {
    issuer: who.issuer,
    subject: who.subject,
    roles: who.roles,
    ...(who.clientId === undefined ? {} : { clientId: who.clientId }),
  };
}

/** The stable reason of a registry refusal, if `err` is one. */
function reasonOf(err: unknown): string | undefined {
  if (!(err instanceof GatewayError) || !err.expose || !('reason' in err)) return undefined;
  return typeof err.reason === 'string' ? err.reason : undefined;
}

/**
 * The dataset routes' error handler: a registry refusal answers in the server's error shape with
 * its reason as `code` (412 adds the current `etag`, also as `ETag`); anything else goes to the
 * server's mapper.
 */
export function datasetError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const reason = reasonOf(err);
  if (reason === undefined || !(err instanceof GatewayError)) {
    handleError(err, request, reply);
    return;
  }
  request.auditReason = reason;
  request.log.info({ code: reason, status: err.statusCode }, 'request refused');
  const stale = err instanceof DatasetStaleError ? err.etag : undefined;
  if (stale !== undefined) void reply.header('etag', etagHeader(stale));
  void reply.code(err.statusCode).send({
    error: {
      message: err.message,
      type: openAIType(err.statusCode),
      param: null,
      code: reason,
      ...(stale === undefined ? {} : { etag: String(stale) }),
    },
  });
}
