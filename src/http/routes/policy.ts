/**
 * @module http/routes/policy — `GET /v1/policy` (the policy in force and its digest; scope
 * `policy:admin` or `audit:read`) and `POST /v1/policy/explain` (scope `policy:admin`): what the
 * policy in force decides for given roles, scopes, action and resource, with the reason.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../errors.js';
import { isResourceId, SCOPES, type Policy } from '../../policy/index.js';

interface ExplainBody {
  roles: string[];
  scopes?: string[];
  action: string;
  resource?: string;
}

const name = { type: 'string', minLength: 1, maxLength: 64 } as const;

const explainSchema = {
  body: {
    type: 'object',
    required: ['roles', 'action'],
    additionalProperties: false,
    properties: {
      roles: { type: 'array', minItems: 1, maxItems: 32, items: name },
      scopes: { type: 'array', maxItems: 64, items: name },
      action: name,
      resource: { type: 'string', minLength: 1, maxLength: 160 },
    },
  },
} as const;

const KNOWN: ReadonlySet<string> = new Set(SCOPES);
const RESOURCE = /^(model|dataset):(.*)$/;

function unknown(what: string, names: readonly string[]): BadRequestError | undefined {
  if (names.length === 0) return undefined;
  return new BadRequestError(`unknown ${what}: ${names.join(', ')}`);
}

export function policyRoutes(app: FastifyInstance, policy: Policy): void {
  app.get('/v1/policy', { config: { scope: ['policy:admin', 'audit:read'] } }, () => {
    const p = policy.current();
    return {
      object: 'policy',
      sha256: p.sha256,
      source: p.source === 'builtin' ? 'builtin' : 'file',
      policy: p.document,
    };
  });

  app.post<{ Body: ExplainBody }>(
    '/v1/policy/explain',
    { schema: explainSchema, config: { scope: 'policy:admin' } },
    (request) => {
      const { roles, scopes, action, resource } = request.body;
      const p = policy.current();
      const bad =
        unknown(
          'role(s)',
          roles.filter((r) => !p.hasRole(r)),
        ) ??
        unknown(
          'scope(s)',
          (scopes ?? []).filter((s) => !KNOWN.has(s)),
        ) ??
        unknown('action', KNOWN.has(action) ? [] : [action]);
      if (bad !== undefined) throw bad;
      if (resource !== undefined) {
        const m = RESOURCE.exec(resource);
        if (m === null || !isResourceId(m[2] ?? '')) {
          throw new BadRequestError(
            'resource must be model:<id> or dataset:<name> (letters, digits, . _ : -)',
          );
        }
      }
      const held = scopes === undefined ? p.grantedScopes(roles) : new Set(scopes);
      const d = p.decide({ roles, scopes: held, action, resource });
      return { allowed: d.allowed, reason: d.reason, policy_sha256: p.sha256 };
    },
  );
}
