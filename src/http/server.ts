/**
 * @module http/server — builds the Fastify instance: logging with redaction, the pipeline hooks,
 * the routes and the error mapper. The only place (with routes/) that knows Fastify.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Auth } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { InferenceService } from '../inference/index.js';
import type { Store } from '../store/index.js';
import { authenticator } from './authenticate.js';
import { handleError } from './errors.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { oauthRoutes } from './routes/oauth.js';
import { completionRoutes } from './routes/completions.js';
import { embeddingRoutes } from './routes/embeddings.js';
import { moderationRoutes } from './routes/moderations.js';
import { v1Routes } from './routes/v1.js';
import { wellKnownRoutes } from './routes/well-known.js';

export interface HttpDeps {
  config: Config;
  auth: Auth;
  store: Store;
  logger: FastifyBaseLogger;
  inference: InferenceService;
  ready: () => Readiness;
}

/** Creates the HTTP server (not listening). */
export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, auth, store } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    // Query strings may carry credentials a client put there by mistake: never log them.
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Validate exactly what the client sent: no type coercion, no silent removal of fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const body = request.url.startsWith('/v1/')
      ? { error: { message: 'Not found', type: 'not_found_error', param: null, code: 'not_found' } }
      : { error: 'not_found', error_description: 'Not found' };
    return reply.code(404).send(body);
  });
  app.addHook('preHandler', authenticator(auth, config.auth.issuer));

  healthRoutes(app, deps.ready);
  wellKnownRoutes(app, config, auth);
  oauthRoutes(app, config, auth, store);
  v1Routes(app, deps.inference);
  embeddingRoutes(app, deps.inference);
  moderationRoutes(app, deps.inference);
  completionRoutes(app, deps.inference, config.inference.defaultMaxTokens);
  return app;
}
