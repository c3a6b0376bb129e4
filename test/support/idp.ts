/**
 * @module test/support/idp — a real identity provider on 127.0.0.1 (node:http) serving a JWKS
 * and a discovery document, whose answers tests can change (keys, failures, hangs, redirects).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** The issuer identifier the local provider claims. */
export const IDP = 'https://idp.example.test';

export interface IdpKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  jwk: JWK;
}

export function makeKey(kid: string, alg: 'ES256' | 'RS256'): IdpKey {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey,
    jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' },
  };
}

export const ES = makeKey('es-1', 'ES256');
export const RS = makeKey('rs-1', 'RS256');

/** A tiny identity provider whose answers the test controls. */
export interface Idp {
  base: string;
  /** Requests the server received, by path. */
  hits: string[];
  jwks: { keys: unknown[] };
  status: number;
  /** `issuer` member of the discovery document. */
  discoveryIssuer: string;
  /** When true the server accepts requests and never answers. */
  hang: boolean;
  server: Server;
  close(): Promise<void>;
}

export async function startIdp(): Promise<Idp> {
  const idp = {
    hits: [] as string[],
    jwks: { keys: [ES.jwk, RS.jwk] as unknown[] },
    status: 200,
    discoveryIssuer: IDP,
    hang: false,
  } as Idp;
  idp.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    idp.hits.push(req.url ?? '');
    if (idp.hang) return;
    res.setHeader('content-type', 'application/json');
    if (idp.status !== 200) {
      res.statusCode = idp.status;
      res.end('{"error":"boom"}');
    } else if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: idp.discoveryIssuer, jwks_uri: `${idp.base}/jwks` }));
    } else if (req.url === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', `${idp.base}/jwks`);
      res.end();
    } else {
      res.end(JSON.stringify(idp.jwks));
    }
  });
  await new Promise<void>((resolve) => idp.server.listen(0, '127.0.0.1', resolve));
  idp.base = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
  idp.close = () =>
    new Promise<void>((resolve) => {
      idp.server.closeAllConnections();
      idp.server.close(() => {
        resolve();
      });
    });
  return idp;
}
