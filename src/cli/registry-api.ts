/**
 * @module cli/registry-api — how `gatehouse models propose|approve|…` reach the registry API:
 * over HTTP to a running server with a token (`--url`), or locally on the data dir, through the
 * same application in process (`buildApp`, nothing listening) with a token minted by the local
 * signing key for `--sub` and `--roles`. Either way every call goes through authentication, the
 * policy and the audit log exactly as any client's would: the CLI has no back door.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { App } from '../app.js';
import type { Config } from '../config/index.js';
import { mintLocalToken } from './context.js';

/** A response: its status and parsed JSON body (undefined when there was none). */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** The registry API as the CLI calls it. */
export interface RegistryApi {
  /** A JSON request (`body` sent as JSON when given). */
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse>;
  /** Streams the file `file` of `size` bytes with PUT to `path` (never read whole). */
  upload(path: string, file: string, size: number): Promise<ApiResponse>;
  /** Sends `bytes` (small: a folder manifest) with PUT to `path`. */
  put(path: string, bytes: Uint8Array): Promise<ApiResponse>;
  close(): Promise<void>;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: { message: text.slice(0, 500) } };
  }
}

/** The API of the server at `base` (`http(s)://host:port`), called with `token`. */
export function remoteApi(
  base: string,
  token: string,
  fetchImpl: typeof fetch = globalThis.fetch,
): RegistryApi {
  const root = base.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${token}` };
  const done = async (res: Response): Promise<ApiResponse> => ({
    status: res.status,
    body: parseBody(await res.text()),
  });
  return {
    async call(method, path, body) {
      const res = await fetchImpl(`${root}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return done(res);
    },
    async upload(path, file, size) {
      const stream = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
      const res = await fetchImpl(`${root}${path}`, {
        method: 'PUT',
        headers: {
          ...headers,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
        },
        body: stream,
        duplex: 'half',
      });
      return done(res);
    },
    async put(path, bytes) {
      const res = await fetchImpl(`${root}${path}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      return done(res);
    },
    close: () => Promise.resolve(),
  };
}

/** Who a local call acts as: the token's subject and roles. */
export interface LocalIdentity {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

/**
 * The API of the application on `config`'s data dir, in process: models are not loaded (a
 * deploy loads only the version it deploys). `build` is app.buildApp (passed in, so the CLI
 * loads the server only for these commands).
 */
export async function localApi(
  config: Config,
  identity: LocalIdentity,
  build: (config: Config) => Promise<App>,
): Promise<RegistryApi> {
  const t = await mintLocalToken(config, {
    ...identity,
    ttl: Math.min(600, config.auth.maxTokenLifetime),
  });
  const app = await build(config);
  const authorization = `Bearer ${t.token}`;
  return {
    async call(method, path, body) {
      const res = await app.http.inject({
        method,
        url: path,
        headers:
          body === undefined
            ? { authorization }
            : { authorization, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: res.statusCode, body: parseBody(res.body) };
    },
    async upload(path, file, size) {
      const res = await app.http.inject({
        method: 'PUT',
        url: path,
        headers: {
          authorization,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
        },
        payload: createReadStream(file),
      });
      return { status: res.statusCode, body: parseBody(res.body) };
    },
    async put(path, bytes) {
      const res = await app.http.inject({
        method: 'PUT',
        url: path,
        headers: { authorization, 'content-type': 'application/octet-stream' },
        payload: Buffer.from(bytes),
      });
      return { status: res.statusCode, body: parseBody(res.body) };
    },
    close: () => app.close(),
  };
}
