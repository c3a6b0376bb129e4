/**
 * @module http/routes/registry-facts — what every registry route shares: the caller as the
 * service sees it, the `model:<model>` policy resource, and the audit facts (`registry.<verb>`
 * and the resource attempted, set before anything can refuse, then what the route learnt).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Policy } from '../../policy/index.js';
import { validName, type RegistryCaller } from '../../registry/index.js';
import { MissingTokenError } from '../errors.js';

/** Route parameters naming a model. */
export interface ModelParams {
  model: string;
}

/** The caller as the service sees it, with the scopes the policy decided on. */
export function callerOf(request: FastifyRequest, policy: Policy): RegistryCaller {
  const id = request.identity;
  if (id === undefined) throw new MissingTokenError();
  const scopes = id.unscoped ? policy.current().grantedScopes(id.roles) : id.scopes;
  return {
    issuer: id.issuer,
    subject: id.subject,
    clientId: id.clientId,
    roles: id.roles,
    scopes,
  };
}

/** The policy resource of a route with a `:model` parameter (400 for a name with tricks). */
export const modelResource = (request: FastifyRequest): string =>
  `model:${validName((request.params as ModelParams).model)}`;

/** Names the audit action (and the attempted resource) before anything can refuse. */
export function audited(action: string, resource: (request: FastifyRequest) => string) {
  return (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    request.audit = { action, resource: resource(request) };
    done();
  };
}
/** The resource a request attempts, as its route's parameters name it (audited as sent). */
export const onModel = (r: FastifyRequest) => `model:${(r.params as ModelParams).model}`;
export const onVersion = (r: FastifyRequest) => {
  const p = r.params as ModelParams & { n: string };
  return `model:${p.model}@${p.n}`;
};
export const onBlob = (r: FastifyRequest) => `blob:${(r.params as { sha256: string }).sha256}`;

/** Adds what the route learnt to its audit event. */
export function note(
  request: FastifyRequest,
  resource: string,
  details: Record<string, unknown>,
): void {
  request.audit = { ...request.audit, resource, details };
}
