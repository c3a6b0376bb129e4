/**
 * Two replicas in one process over one SQLite file and one data dir (runs without PostgreSQL):
 * a version deployed through replica A's registry API is served by B within the sync interval,
 * loaded once on each (A's own sync does not load again what A deployed), and a rollback and a
 * retire on A are followed by B.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { BlobStore } from '../src/registry/index.js';
import type { Actor } from '../src/store/index.js';
import { eventually } from './helpers/replicas.js';

const alice: Actor = { issuer: 'https://idp.example', subject: 'alice' };
const bob: Actor = { issuer: 'https://idp.example', subject: 'bob' };
const ISSUER = 'https://replicas.example';

/** A logger that keeps the `msg` of every line, so the test can count model loads. */
function recorder(): { logger: pino.Logger; lines: { msg: string; versionId?: string }[] } {
  const lines: { msg: string; versionId?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as { msg: string; versionId?: string });
      },
    },
  );
  return { logger, lines };
}

describe('registry changes on one replica are followed by the other (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-registry-sync-'));
  const logs = { a: recorder(), b: recorder() };
  let a: App;
  let b: App;
  let admin: string;
  let dev: string;
  const ids: string[] = [];

  const config = (replicaId: string) =>
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        log: { level: 'silent' },
        models: [{ id: 'echo', backend: 'echo' }],
        inference: { moderation: null, promptInjection: null },
        auth: { issuer: ISSUER, revocationSyncInterval: 1 },
        audit: { replicaId },
      },
    });

  beforeAll(async () => {
    a = await buildApp(config('replica-a'), { logger: logs.a.logger });
    b = await buildApp(config('replica-b'), { logger: logs.b.logger });
    const issue = async (subject: string, roles: string[], scopes: string[]) =>
      (await a.auth.issuer.issue({ subject, clientId: subject, roles, scopes, ttl: 600 })).token;
    admin = await issue('admin-1', ['admin'], ['models:deploy', 'registry:read']);
    dev = await issue('dev-1', ['developer'], ['models:read', 'inference:invoke']);
    // Two approved versions of `tuned`, their artifacts in the shared blob store.
    const blobs = new BlobStore(join(dir, 'blobs'));
    for (const n of [1, 2]) {
      const bytes = Buffer.from(`echo artifact ${String(n)}`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await blobs.put(sha256, Readable.from([bytes]), { maxBytes: 1024 });
      const proposed = await a.store.registry.proposeVersion(
        {
          model: 'tuned',
          backend: 'echo',
          task: 'generation',
          artifactSha256: sha256,
          artifactSize: bytes.length,
          params: {},
          proposedBy: alice,
          datasets: [],
          metadata: {},
        },
        Date.now(),
      );
      if (!proposed.ok) throw new Error('proposal refused');
      ids.push(proposed.record.id);
      const approved = await a.store.registry.transition(
        proposed.record.id,
        'proposed',
        'approved',
        bob,
        null,
        Date.now(),
      );
      if (!approved.ok) throw new Error('approval refused');
    }
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const onA = (method: 'POST', url: string, payload?: Record<string, unknown>) =>
    a.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${admin}` },
      ...(payload === undefined ? {} : { payload }),
    });

  /** The version of `tuned` `app` serves (undefined: none). */
  async function served(app: App): Promise<unknown> {
    const res = await app.http.inject({
      method: 'GET',
      url: '/v1/models/tuned',
      headers: { authorization: `Bearer ${dev}` },
    });
    if (res.statusCode === 404) return undefined;
    expect(res.statusCode).toBe(200);
    return res.json<{ gatehouse: { version: unknown } }>().gatehouse.version;
  }

  const loads = (who: 'a' | 'b', versionId: string | undefined) =>
    logs[who].lines.filter((l) => l.msg === 'model version serving' && l.versionId === versionId)
      .length;

  it('serves on B a version deployed on A, loaded once on each', async () => {
    expect((await onA('POST', '/v1/registry/models/tuned/deploy', { version: 1 })).statusCode).toBe(
      200,
    );
    expect(await served(a)).toBe(1);
    await eventually(async () => {
      expect(await served(b)).toBe(1);
    });
    // Let two more passes of A's own sync run: what A deployed is not loaded a second time.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(loads('a', ids[0])).toBe(1);
    expect(loads('b', ids[0])).toBe(1);
  });

  it('follows a deploy of another version and a rollback', async () => {
    expect((await onA('POST', '/v1/registry/models/tuned/deploy', { version: 2 })).statusCode).toBe(
      200,
    );
    await eventually(async () => {
      expect(await served(b)).toBe(2);
    });
    expect((await onA('POST', '/v1/registry/models/tuned/rollback')).statusCode).toBe(200);
    expect(await served(a)).toBe(1);
    await eventually(async () => {
      expect(await served(b)).toBe(1);
    });
  });

  it('stops serving on B a version retired on A', async () => {
    const res = await onA('POST', '/v1/registry/models/tuned/versions/1/retire', {});
    expect(res.statusCode).toBe(200);
    expect(await served(a)).toBeUndefined();
    await eventually(async () => {
      expect(await served(b)).toBeUndefined();
    });
  });
});
