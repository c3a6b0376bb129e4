/**
 * @module http/routes/audit — `GET /v1/audit/keys`: every public key the server ever signed
 * with (JWKS), what checkpoints and receipts are verified against, public like any JWKS; and
 * `GET /v1/audit/verify` (scope `audit:read`): recomputes every chain in the store and answers
 * `{ok, chains, problem?}` (200 either way: the check ran). One verification runs at a time;
 * callers that arrive meanwhile share its result, so the endpoint cannot be used to make the
 * server scan the store many times over.
 */
import type { FastifyInstance } from 'fastify';
import { verifyAudit, type VerifyReport } from '../../audit/index.js';
import type { Auth } from '../../auth/index.js';
import type { AuditStore } from '../../store/index.js';

/** `maxUnsigned`: see `VerifyOptions` (the server passes `unsignedBound(checkpointEvery)`). */
export function auditRoutes(
  app: FastifyInstance,
  auth: Auth,
  audit: AuditStore,
  maxUnsigned: number,
): void {
  app.get('/v1/audit/keys', async (_req, reply) => {
    await auth.keys.refresh();
    void reply.header('cache-control', 'public, max-age=60').type('application/jwk-set+json');
    return auth.keys.auditJwks();
  });

  let running: Promise<VerifyReport> | undefined;
  app.get('/v1/audit/verify', { config: { scope: 'audit:read' } }, async (_req, reply) => {
    running ??= (async () => {
      await auth.keys.refresh();
      return verifyAudit(audit, auth.keys.auditJwks(), { maxUnsigned });
    })().finally(() => {
      running = undefined;
    });
    const report = await running;
    void reply.header('cache-control', 'no-store');
    return report;
  });
}
