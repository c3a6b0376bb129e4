/**
 * @module http/routes/metrics — `GET /metrics`, the Prometheus text exposition: on the main port
 * for a token with `metrics:read` (granted to the built-in `admin` role), and without a token
 * on the separate `metrics.port` when one is configured (bind it where only the scraper
 * reaches). Also counts every response by route pattern, method, status and model.
 */
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  type onResponseHookHandler,
} from 'fastify';
import type { Metrics, RouteSeries } from '../../metrics/index.js';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

const send = async (metrics: Metrics, reply: FastifyReply): Promise<FastifyReply> => {
  const text = await metrics.text();
  return reply.header('content-type', metrics.contentType).send(text);
};

export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { scope: 'metrics:read' } }, (_request, reply) =>
    send(metrics, reply),
  );
}

/** The `model` member of a JSON body, if it has one (read, never copied). */
const bodyModel = (body: unknown): unknown =>
  typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;

/** The hooks this module added, so a route copied from another (HEAD of GET) is not counted twice. */
const OURS = new WeakSet<object>();

/**
 * Counts every response in `metrics.requests`. Each route gets its own onResponse hook holding
 * its series, made when the route is registered, so a request pays no label building and no
 * lookup of its route; requests no route matched are counted by one server hook. Call before
 * any route is added.
 */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRoute', (route) => {
    const methods = typeof route.method === 'string' ? [route.method] : [...route.method];
    const byMethod = new Map<string, RouteSeries>(
      methods.map((m) => [m, metrics.requests.route(route.url, m)]),
    );
    const single = methods.length === 1 ? byMethod.get(methods[0] ?? '') : undefined;
    const scope = route.config?.scope;
    // Only inference routes name a model; their body's `model` is labelled if configured.
    const named = typeof scope === 'string' ? scope === 'inference:invoke' : false;
    const hook: Hook = (request, reply, done) => {
      const series = single ?? byMethod.get(request.method);
      series?.observe(
        reply.statusCode,
        named ? metrics.modelLabel(bodyModel(request.body)) : '',
        reply.elapsedTime / 1000,
      );
      done();
    };
    OURS.add(hook);
    const own = route.onResponse;
    const others = (own === undefined ? [] : Array.isArray(own) ? own : [own]).filter(
      (h: object) => !OURS.has(h),
    ) as onResponseHookHandler[];
    route.onResponse = [...others, hook];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      metrics.requests
        .unmatched(request.method)
        .observe(reply.statusCode, '', reply.elapsedTime / 1000);
    }
    done();
  });
}

/** The unauthenticated listener of `metrics.port`: `GET /metrics` and nothing else. */
export interface MetricsServer {
  /** Listens; resolves with the bound address, e.g. `http://127.0.0.1:9464`. */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** Creates the listener of `metrics.port` (not listening yet). */
export function metricsServer(metrics: Metrics): MetricsServer {
  const app = Fastify({ logger: false, return503OnClosing: true });
  app.get('/metrics', (_request, reply) => send(metrics, reply));
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: 'not_found', error_description: 'Not found' }),
  );
  return {
    listen: (host, port) => app.listen({ host, port }),
    close: () => app.close(),
  };
}
