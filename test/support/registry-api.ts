/**
 * @module test/support/registry-api — calls on the model registry's HTTP API for integration
 * tests: real tokens from the token endpoint for clients with the given roles, JSON and blob
 * requests through `inject()`, and the shapes the tests read back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { requestToken, type Fixture } from './app-fixture.js';
import { writeTinyGguf } from './gguf.js';

/** A caller: its client (the token's subject) and a bearer token from the token endpoint. */
export interface Caller {
  id: string;
  token: string;
}

/** A client with `roles` (and `scopes`, narrower, when given) and a fresh token for it. */
export async function caller(f: Fixture, roles: string[], scopes?: string[]): Promise<Caller> {
  const client = await f.client({ roles, scopes });
  const res = await requestToken(f, client);
  expect(res.statusCode).toBe(200);
  return { id: client.id, token: res.json<{ access_token: string }>().access_token };
}

/** Random bytes and their sha256. */
export function artifact(size = 2048): { bytes: Buffer; sha256: string } {
  const bytes = randomBytes(size);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A tiny GGUF model the llama-cpp backend loads (same seed, same bytes), and its sha256. */
export async function ggufArtifact(seed: number): Promise<{ bytes: Buffer; sha256: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-registry-gguf-'));
  try {
    const g = await writeTinyGguf(join(dir, 'tiny.gguf'), { seed });
    return { bytes: await readFile(g.path), sha256: g.sha256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `PUT /v1/registry/blobs/{sha256}` with `bytes` as the octet-stream body. */
export function putBlob(f: Fixture, who: Caller, sha256: string, bytes: Buffer) {
  return f.app.http.inject({
    method: 'PUT',
    url: `/v1/registry/blobs/${sha256}`,
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
}

/** A JSON request (a POST without `body` sends none). */
export function call(
  f: Fixture,
  who: Caller,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
) {
  return f.app.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
}

/** The error body of the API. */
export interface ApiError {
  error: { message: string; type: string; code: string; current_status?: string };
}

/** A model version as the API shows it. */
export interface VersionBody {
  object: string;
  id: string;
  model: string;
  version: number;
  sha256: string;
  size: number;
  status: string;
  datasets: { name: string; digest: string }[];
  proposed_by: { issuer: string; subject: string; client_id: string | null };
}

/** A deployment as the API shows it. */
export interface DeploymentBody {
  object: string;
  model: string;
  version: number;
  previous_version: number | null;
  kind: string;
  actor: { subject: string };
}
