/**
 * @module bench/support/token-bench — the token endpoint, client_credentials with
 * client_secret_basic, through the whole app: `inject()` (no socket) one at a time and with
 * TOKEN_WIDTH in flight, then a real socket with TOKEN_WIDTH keep-alive connections (fetch). The
 * parts it is made of — the scrypt secret check and signing — are measured alone beside it.
 */
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { createClient, type SigningAlg } from '../../src/auth/index.js';
import { verifySecret } from '../../src/auth/secrets.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { concurrent, medians, sequential, type Figure, type Schedule } from './measure.js';
import { openBenchEnv } from './setup.js';

/** Requests in flight at once (and keep-alive connections over the socket). */
export const TOKEN_WIDTH = 16;

/** Median figures per request (or operation). */
export interface TokenFigures {
  alg: SigningAlg;
  injectSeq: Figure;
  injectConc: Figure;
  socketConc: Figure;
  /** TCP connections the server accepted, and requests sent over them (warm-up included). */
  socketConnections: number;
  socketRequests: number;
  /** `verifySecret` (scrypt N=2^14, r=8) alone, one at a time and TOKEN_WIDTH in flight. */
  scryptSeq: Figure;
  scryptConc: Figure;
  /** `TokenIssuer.issue` (sign one access token) alone, one at a time. */
  issueSeq: Figure;
}

function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Measures the token endpoint of an app that signs with `alg`. */
export async function benchTokenEndpoint(
  alg: SigningAlg,
  schedule: Schedule,
): Promise<TokenFigures> {
  const env = await openBenchEnv();
  const config = env.config({
    server: { host: '127.0.0.1', port: 0 },
    auth: { signingAlg: alg },
  });
  const app = await buildApp(config, { logger: createLogger('silent'), store: env.store });
  try {
    const { client, secret } = await createClient(app.store, systemClock, {
      name: 'bench',
      roles: ['developer'],
    });
    if (secret === undefined || client.secretHash === null) throw new Error('no client secret');
    const secretHash = client.secretHash;
    const headers = {
      authorization: basic(client.id, secret),
      'content-type': 'application/x-www-form-urlencoded',
    };
    const body = new URLSearchParams({ grant_type: 'client_credentials' }).toString();

    const viaInject = async () => {
      const res = await app.http.inject({
        method: 'POST',
        url: '/oauth/token',
        headers,
        payload: body,
      });
      if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}`);
    };
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.http.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/oauth/token`;
    let connections = 0;
    app.http.server.on('connection', () => {
      connections++;
    });
    // Node's fetch (undici) keeps connections alive and opens one per request in flight.
    let requests = 0;
    const viaSocket = async () => {
      requests++;
      const res = await fetch(url, { method: 'POST', headers, body });
      if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
      await res.arrayBuffer();
    };
    const checkSecret = async () => {
      if (!(await verifySecret(secret, secretHash))) throw new Error('secret mismatch');
    };
    const issue = () =>
      app.auth.issuer.issue({
        subject: client.id,
        clientId: client.id,
        scopes: client.scopes,
        roles: client.roles,
        ttl: config.auth.accessTokenTtl,
      });
    await viaInject();
    await viaSocket();

    const m = await medians(
      {
        injectSeq: sequential(1, viaInject),
        injectConc: concurrent(TOKEN_WIDTH, viaInject),
        socketConc: concurrent(TOKEN_WIDTH, viaSocket),
        scryptSeq: sequential(1, checkSecret),
        scryptConc: concurrent(TOKEN_WIDTH, checkSecret),
        issueSeq: sequential(16, issue),
      },
      schedule,
    );
    return { alg, ...m, socketConnections: connections, socketRequests: requests };
  } finally {
    await app.close();
    await env.close();
  }
}
