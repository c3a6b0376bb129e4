/**
 * @module http/server — builds the Fastify instance: connection limits and timeouts (`edge`), one
 * access-log line per request, the pipeline hooks, the routes and the error mapper. The only
 * place (with routes/) that knows Fastify. Form bodies are parsed for the OAuth endpoints only;
 * the JSON API answers any other media type with 415.
 */
import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Auth } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { InferenceService } from '../inference/index.js';
import type { Policy } from '../policy/index.js';
import { uniqueIds } from '../lib/random.js';
import type { Store } from '../store/index.js';
import { accessLog } from './access-log.js';
import type { AuditStage } from './audit-stage.js';
import { authenticator, refuseBodyToken } from './authenticate.js';
import { authorizer } from './authorize.js';
import { edgeOptions, guardServer } from './edge.js';
import { EdgeLog } from './edge-log.js';
import { handleError } from './errors.js';
import { lazyChildLogger } from './request-logger.js';
import { unsignedBound } from '../audit/index.js';
import { auditRoutes } from './routes/audit.js';
import { Guards, type InjectionClassifier } from '../guard/index.js';
import { guardRoutes } from './routes/guard.js';
import { Metrics } from '../metrics/index.js';
import { countRequests, metricsRoutes } from './routes/metrics.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { oauthRoutes } from './routes/oauth.js';
import { policyRoutes } from './routes/policy.js';
import type { ModelRegistry } from '../registry/index.js';
import { registryRoutes } from './routes/registry.js';
import { completionRoutes } from './routes/completions.js';
import { datasetRoutes } from './routes/datasets.js';
import type { DatasetService } from '../registry/index.js';
import { embeddingRoutes } from './routes/embeddings.js';
import { moderationRoutes } from './routes/moderations.js';
import { usageRoutes } from './routes/usage.js';
import { v1Routes } from './routes/v1.js';
import { rateLimiter, type RateLimitDeps } from './rate-limit.js';
import { wellKnownRoutes } from './routes/well-known.js';

export interface HttpDeps {
  config: Config;
  auth: Auth;
  store: Store;
  logger: FastifyBaseLogger;
  inference: InferenceService;
  policy: Policy;
  ready: () => Readiness;
  /** Records every response of an audited route before it is sent (undefined: audit off). */
  auditStage: AuditStage | undefined;
  /** The dataset service (routes/datasets). */
  datasets: DatasetService;
  /** The model registry behind `/v1/registry/…` (undefined: those routes are not served). */
  registry?: ModelRegistry | undefined;
  /** The app's metrics (absent: the server makes its own). */
  metrics?: Metrics | undefined;
  /** Rate limits and token quotas of the inference routes, and `GET /v1/usage`. */
  rateLimits: RateLimitDeps;
}

/**
 * The content guards under `config.guard`, with the `prompt-injection` classifier when one is
 * configured (a classifier still loading fails the requests that consult it: 503).
 */
function contentGuards(config: Config, inference: InferenceService): Guards {
  const classify: InjectionClassifier | undefined =
    config.inference.promptInjection === null
      ? undefined
      : async (texts, ctx) => {
          if (ctx === undefined) throw new Error('the classifier needs a call context');
          const results = await inference.moderate('prompt-injection', texts, ctx);
          return results.map((r) => r.categoryScores.injection ?? 0);
        };
  return new Guards(config.guard, classify);
}

/** Creates the HTTP server (not listening). */
export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, auth, store, logger } = deps;
  const edgeLog = new EdgeLog((level, obj, msg) => {
    logger[level](obj, msg);
  }, config.log.edgeSummaryMs);
  const app: FastifyInstance = Fastify({
    loggerInstance: logger,
    // One line per request, written by access-log (Fastify's own are two, on a child logger).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    // A per-process random prefix and a counter: unique across replicas, no CSPRNG per request.
    genReqId: uniqueIds(),
    ...edgeOptions(config.server, edgeLog),
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL) get our shapes too.
    frameworkErrors: handleError,
    // Validate exactly what the client sent: no type coercion, no silent removal of fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  });
  guardServer(app.server, config.server, edgeLog);
  app.addHook('onClose', (_instance, done) => {
    edgeLog.flush();
    done();
  });
  if (config.log.access) accessLog(app, logger);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const body = request.url.startsWith('/v1/')
      ? { error: { message: 'Not found', type: 'not_found_error', param: null, code: 'not_found' } }
      : { error: 'not_found', error_description: 'Not found' };
    return reply.code(404).send(body);
  });
  // metrics: every response by route pattern, status and model (before any route is added).
  const metrics = deps.metrics ?? new Metrics();
  countRequests(app, metrics);
  const rateLimit = rateLimiter(deps.rateLimits);
  // Only routes with a scope are protected: they get the hooks, the others pay nothing for them.
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope;
    if (scope === undefined) return;
    const authenticate = authenticator(auth, config.auth.issuer);
    const authorize = authorizer(deps.policy, scope, route.config?.resource);
    const list = <T>(h: T | T[] | undefined): T[] =>
      h === undefined ? [] : Array.isArray(h) ? h : [h];
    // Authenticated before the body is read; authorized once it is (the resource is in it).
    // The route's own hooks run for authorized callers only.
    route.onRequest = [authenticate, ...list(route.onRequest)];
    // An authorized caller's budgets are charged; a refused one costs none.
    const limit = route.config?.limited === true ? [rateLimit] : [];
    route.preHandler = [refuseBodyToken, authorize, ...limit, ...list(route.preHandler)];
  });
  app.decorate('auditStage', deps.auditStage);
  app.decorate('metrics', metrics);
  app.decorate('guards', contentGuards(config, deps.inference));
  deps.auditStage?.attach(app);

  healthRoutes(app, deps.ready);
  metricsRoutes(app, metrics);
  wellKnownRoutes(app, config, auth);
  await app.register((oauth, _opts, done) => {
    // RFC 6749 bodies are form-encoded: the parser exists for these routes only.
    oauth.register(formbody, { bodyLimit: 64 * 1024 }).after(() => {
      oauthRoutes(oauth, config, auth, store);
    });
    done();
  });
  await app.register((api, _opts, done) => {
    // The OpenAI API takes JSON only; Fastify answers other media types with 415.
    api.removeContentTypeParser('text/plain');
    v1Routes(api, deps.inference);
    usageRoutes(api, deps.rateLimits, deps.inference);
    policyRoutes(api, deps.policy);
    guardRoutes(api, deps.policy);
    embeddingRoutes(api, deps.inference, deps.policy);
    moderationRoutes(api, deps.inference, deps.policy);
    completionRoutes(api, deps.inference, deps.policy, config.inference.defaultMaxTokens);
    auditRoutes(api, auth, store.audit, unsignedBound(config.audit.checkpointEvery));
    datasetRoutes(api, deps.datasets, deps.policy, config.registry.maxBlobBytes);
    if (deps.registry)
      registryRoutes(api, deps.registry, deps.policy, config.registry.maxBlobBytes);
    done();
  });
  return app;
}
