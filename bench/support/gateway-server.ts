/**
 * @module bench/support/gateway-server — one server process of `bench:gateway`, started pinned to
 * a core by `bench/gateway.ts`: `gatehouse` (the whole app as `gatehouse serve` builds it, the
 * echo chat model, default logging to stdout, which the parent reads as a deployment's log
 * collector would), `fastify` (a bare Fastify route answering the same JSON), or `jose` (Fastify
 * with a jose `jwtVerify` of the bearer token and a verified-token cache). It reports its port
 * and authorization over IPC, and its own CPU time whenever asked.
 */
import { generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import Fastify from 'fastify';
import { benchGatehouse, serveBenchmark, type BenchServer } from './bench-server.js';
import { openBenchEnv } from './setup.js';

/** The servers the benchmark compares. */
export type GatewayKind = 'gatehouse' | 'fastify' | 'jose';

export type { ServerMessage } from './bench-server.js';

/** The answer the bare routes give: the shape of an echo chat completion. */
function answer(content: string) {
  return {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'echo',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

interface ChatBody {
  messages: { content: string }[];
}

const firstContent = (body: unknown): string => (body as ChatBody).messages[0]?.content ?? '';

async function gatehouse(): Promise<BenchServer> {
  const env = await openBenchEnv();
  // Exactly what `gatehouse serve` does about logging: the configured level (default info) to
  // stdout. GATEWAY_AUDIT=off: the request path as issue 7 measured it, before the audit stage.
  const config = env.config({
    server: { host: '127.0.0.1', port: 0 },
    models: [{ id: 'echo', backend: 'echo', task: 'generation' }],
    ...(process.env.GATEWAY_AUDIT === 'off' ? { audit: { enabled: false } } : {}),
    ...(process.env.GATEWAY_GUARD === 'off' ? { guard: { enabled: false } } : {}),
  });
  return benchGatehouse(config, 'bench-gateway', env.store);
}

function bare(): BenchServer {
  const http = Fastify();
  http.post('/v1/chat/completions', (request) => answer(firstContent(request.body)));
  return { http, authorization: 'Bearer none' };
}

async function withJose(): Promise<BenchServer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const issuer = 'http://127.0.0.1';
  const token = await new SignJWT({ scope: 'inference:invoke', client_id: 'bench' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(issuer)
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const cache = new Map<string, JWTPayload>();
  const verify = async (key: CryptoKey, jwt: string): Promise<JWTPayload> => {
    const hit = cache.get(jwt);
    if (hit !== undefined && (hit.exp ?? 0) > Date.now() / 1000) return hit;
    const { payload } = await jwtVerify(jwt, key, {
      issuer,
      audience: issuer,
      algorithms: ['ES256'],
    });
    if (cache.size >= 10_000) cache.clear();
    cache.set(jwt, payload);
    return payload;
  };
  const http = Fastify();
  http.addHook('preHandler', async (request, reply) => {
    const h = request.headers.authorization;
    if (h?.startsWith('Bearer ') !== true) return reply.code(401).send({ error: 'invalid_token' });
    const payload = await verify(publicKey, h.slice(7));
    if (payload.scope !== 'inference:invoke') return reply.code(403).send({ error: 'scope' });
    return undefined;
  });
  http.post('/v1/chat/completions', (request) => answer(firstContent(request.body)));
  return { http, authorization: `Bearer ${token}` };
}

const kind = process.argv[2] as GatewayKind | undefined;
await serveBenchmark(
  kind === 'gatehouse' ? await gatehouse() : kind === 'jose' ? await withJose() : bare(),
);
