/**
 * Folder artifacts end to end, over a real socket with real tokens: the bundled USE-lite folder
 * (model.json, weight shards, vocab.json) uploaded file by file and then its manifest, proposed
 * as version 1 of a new embedding model (refused while a file is missing, naming its digest),
 * approved by a second admin (never by its proposer), deployed, and answering /v1/embeddings
 * with exactly the vectors of the config-loaded USE-lite. The same folder registered from a path
 * under `registry.allowedPaths` names the same digest; a restart serves the version again from
 * its materialized folder, verified again; a blob changed on disk by hand is refused
 * when the folder is materialized, and what was served goes on being served. On SQLite, and on
 * PostgreSQL when DATABASE_URL is set. An ONNX model folder (model + tokenizer files, from
 * ../shared/models/onnx-tiny-bert when present) is served from the registry the same way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { bundledModelDir } from '../src/inference/backends/tfjs/artifact.js';
import { digestFile } from '../src/inference/index.js';
import { hashFolder, type HashedFolder } from '../src/registry/index.js';
import { createLogger } from '../src/lib/logger.js';
import { startApp, type Fixture } from './support/app-fixture.js';
import { call, caller, type Caller } from './support/registry-api.js';

const url = process.env.DATABASE_URL ?? '';
if (url === '')
  console.warn('registry-folders: PostgreSQL leg skipped; set DATABASE_URL to run it');
const STORES: [string, Record<string, unknown>][] = [
  ['SQLite', {}],
  ...(url === ''
    ? []
    : [
        [
          'PostgreSQL',
          { store: { url, schema: `gh_folders_${randomBytes(5).toString('hex')}` } },
        ] as [string, Record<string, unknown>],
      ]),
];

const INPUT = ['the quick brown fox jumps over the lazy dog', 'a governed embedding model'];

describe.each(STORES)('a folder artifact served from the registry (%s)', (_name, storeConfig) => {
  let f: Fixture;
  let folder: HashedFolder;
  let eng: Caller; // ml-engineer who also holds admin: proposes, may never approve its own
  let admin: Caller; // a second admin: approves and deploys
  let dev: Caller;
  let restarted: App | undefined; // the app started again on the same data dir
  const model = 'use-lite-governed';
  const dir = bundledModelDir();

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: {
        models: [{ id: 'use-lite', backend: 'tfjs', threads: 1 }],
        registry: { allowedPaths: [dir], maxBlobBytes: 8 * 1024 * 1024 },
        ...storeConfig,
      },
    });
    folder = await hashFolder(dir);
    eng = await caller(f, ['ml-engineer', 'admin']);
    admin = await caller(f, ['admin']);
    dev = await caller(f, ['developer']);
  }, 60_000);

  afterAll(async () => {
    if (restarted === undefined) await f.close();
    else {
      await restarted.close();
      await rm(f.dir, { recursive: true, force: true });
    }
    const schema = (storeConfig.store as { schema?: string } | undefined)?.schema;
    if (schema === undefined) return;
    const { Client } = await import('pg');
    const pg = new Client({ connectionString: url });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pg.end();
  });

  async function api(who: Caller, method: string, path: string, body?: unknown) {
    const res = await fetch(`${f.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${who.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function putBlob(sha256: string, bytes: Uint8Array) {
    const res = await fetch(`${f.base}/v1/registry/blobs/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${eng.token}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect([200, 201]).toContain(res.status);
  }

  async function embed(m: string): Promise<number[][]> {
    const res = await api(dev, 'POST', '/v1/embeddings', { model: m, input: INPUT });
    expect(res.status).toBe(200);
    return (res.body.data as { embedding: number[] }[]).map((d) => d.embedding);
  }

  const errorCode = (body: Record<string, unknown>) => (body.error as { code: string }).code;
  const errorMessage = (body: Record<string, unknown>) =>
    (body.error as { message: string }).message;

  it('refuses the proposal until every file the manifest lists is uploaded, naming the missing one', async () => {
    const vocab = folder.manifest.files.find((x) => x.path === 'vocab.json');
    if (vocab === undefined) throw new Error('the bundled folder has no vocab.json');
    const fileOf = new Map(folder.found.map((x) => [x.path, x.file]));
    for (const file of folder.manifest.files) {
      if (file !== vocab) await putBlob(file.sha256, await readFile(fileOf.get(file.path) ?? ''));
    }
    const proposal = { backend: 'tfjs', sha256: folder.sha256, artifact_kind: 'folder' };
    const unknownKind = { ...proposal, artifact_kind: 'tree' };
    expect(
      (await api(eng, 'POST', `/v1/registry/models/${model}/versions`, unknownKind)).status,
    ).toBe(400);
    const early = await api(eng, 'POST', `/v1/registry/models/${model}/versions`, proposal);
    expect(early.status).toBe(404); // the manifest itself is not uploaded yet
    expect(errorCode(early.body)).toBe('blob-not-found');

    await putBlob(folder.sha256, folder.bytes);
    const missing = await api(eng, 'POST', `/v1/registry/models/${model}/versions`, proposal);
    expect(missing.status).toBe(400);
    expect(errorCode(missing.body)).toBe('folder-incomplete');
    expect(errorMessage(missing.body)).toContain(vocab.sha256);

    await putBlob(vocab.sha256, await readFile(fileOf.get('vocab.json') ?? ''));
    const ok = await api(eng, 'POST', `/v1/registry/models/${model}/versions`, proposal);
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      version: 1,
      backend: 'tfjs',
      task: 'embedding',
      sha256: folder.sha256,
      size: folder.bytes.length,
      status: 'proposed',
    });
  });

  it('lets anyone who reads the registry read the manifest an approver approves, and its files', async () => {
    const res = await fetch(`${f.base}/v1/registry/blobs/${folder.sha256}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(res.status).toBe(200);
    const listed = (await res.json()) as { kind: string; files: { path: string }[] };
    expect(listed.kind).toBe('gatehouse.folder/v1');
    expect(listed.files.map((x) => x.path)).toEqual(
      expect.arrayContaining(['model.json', 'vocab.json', 'group1-shard1of7']),
    );
    // And each file it lists, by its digest.
    const vocab = folder.manifest.files.find((x) => x.path === 'vocab.json');
    const file = await fetch(`${f.base}/v1/registry/blobs/${vocab?.sha256 ?? ''}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer())).toEqual(await readFile(join(dir, 'vocab.json')));
    // A developer holds no registry:read.
    const denied = await fetch(`${f.base}/v1/registry/blobs/${vocab?.sha256 ?? ''}`, {
      headers: { authorization: `Bearer ${dev.token}` },
    });
    expect(denied.status).toBe(403);
  });

  it('is approved by a second admin only, deployed, and answers with the bundled vectors', async () => {
    const versions = `/v1/registry/models/${model}/versions`;
    const self = await api(eng, 'POST', `${versions}/1/approve`, {});
    expect(self.status).toBe(403);
    expect(errorCode(self.body)).toBe('self-approval');
    expect((await api(admin, 'POST', `${versions}/1/approve`, { reason: 'eval ok' })).status).toBe(
      200,
    );
    const deployed = await api(admin, 'POST', `/v1/registry/models/${model}/deploy`, {
      version: 1,
    });
    expect(deployed.status).toBe(200);
    expect(deployed.body).toMatchObject({ version: 1, previous_version: null });

    const listed = await api(dev, 'GET', `/v1/models/${model}`);
    expect(listed.status).toBe(200);
    expect(listed.body.gatehouse).toMatchObject({ version: 1, sha256: folder.sha256 });

    const [governed, bundled] = [await embed(model), await embed('use-lite')];
    expect(governed).toHaveLength(2);
    expect(governed[0]).toHaveLength(512);
    expect(governed).toEqual(bundled);

    // Served from the materialized folder: the listed files, nothing else.
    const materialized = join(f.dir, 'artifacts', folder.sha256);
    expect((await readdir(materialized)).sort()).toEqual(
      folder.manifest.files.map((x) => x.path).sort(),
    );
  }, 60_000);

  it('is served again after a restart on the same data dir, from its verified folder', async () => {
    await f.app.close();
    restarted = await buildApp(f.config, { logger: createLogger('silent') });
    await restarted.http.listen({ host: '127.0.0.1', port: Number(new URL(f.base).port) });
    const listed = await api(dev, 'GET', `/v1/models/${model}`);
    expect(listed.status).toBe(200);
    expect(listed.body.gatehouse).toMatchObject({ version: 1, sha256: folder.sha256 });
    expect(await embed(model)).toEqual(await embed('use-lite'));
  }, 60_000);

  it('registers the same folder from a path to the same digest, and refuses a tampered blob at deploy', async () => {
    const versions = `/v1/registry/models/${model}/versions`;
    const byPath = await api(eng, 'POST', versions, { backend: 'tfjs', path: dir });
    expect(byPath.status).toBe(201);
    expect(byPath.body).toMatchObject({ version: 2, sha256: folder.sha256 });
    expect((await api(admin, 'POST', `${versions}/2/approve`, {})).status).toBe(200);

    // A weight shard changed on disk by hand after approval.
    const shard = folder.manifest.files.find((x) => x.path === 'group1-shard7of7');
    if (shard === undefined) throw new Error('the bundled folder has no shard 7');
    const blob = join(f.dir, 'blobs', shard.sha256.slice(0, 2), shard.sha256);
    await chmod(blob, 0o600);
    await appendFile(blob, Buffer.from([0]));

    const refused = await api(admin, 'POST', `/v1/registry/models/${model}/deploy`, {
      version: 2,
    });
    expect(refused.status).toBe(422);
    expect(errorCode(refused.body)).toBe('artifact-unloadable');
    expect(errorMessage(refused.body)).toMatch(/does not match its approved sha256/);
    expect(JSON.stringify(refused.body)).not.toContain(f.dir); // no path in the answer

    // Nothing changed: version 1 is still active and served.
    const listed = await api(dev, 'GET', `/v1/models/${model}`);
    expect(listed.body.gatehouse).toMatchObject({ version: 1 });
    expect((await embed(model))[0]).toHaveLength(512);
    const v2 = await api(admin, 'GET', `${versions}/2`);
    expect(v2.body.status).toBe('approved');
  }, 60_000);
});

const TINY_BERT = join(import.meta.dirname, '../../shared/models/onnx-tiny-bert');
const haveBert = existsSync(TINY_BERT);
if (!haveBert) console.warn(`registry-folders: onnx folder skipped (${TINY_BERT} not present)`);

describe.skipIf(!haveBert)('an ONNX model folder (model + tokenizer files) as a version', () => {
  let f: Fixture;
  let eng: Caller;
  let admin: Caller;
  let dev: Caller;

  beforeAll(async () => {
    const { sha256 } = await digestFile(join(TINY_BERT, 'onnx', 'model.onnx'));
    f = await startApp({
      config: {
        models: [{ id: 'tiny-bert', backend: 'onnx', path: TINY_BERT, task: 'embedding', sha256 }],
        registry: { allowedPaths: [TINY_BERT] },
      },
    });
    eng = await caller(f, ['ml-engineer']);
    admin = await caller(f, ['admin']);
    dev = await caller(f, ['developer']);
  }, 60_000);
  afterAll(async () => {
    await f.close();
  });

  it('is registered from its path, deployed, and embeds exactly as the config-loaded folder', async () => {
    const base = '/v1/registry/models/bert-governed';
    const proposed = await call(f, eng, 'POST', `${base}/versions`, {
      backend: 'onnx',
      task: 'embedding',
      path: TINY_BERT,
      artifact_kind: 'folder',
    });
    expect(proposed.statusCode).toBe(201);
    const sha256 = proposed.json<{ sha256: string }>().sha256;
    expect(sha256).toBe((await hashFolder(await realpath(TINY_BERT))).sha256);
    expect((await call(f, admin, 'POST', `${base}/versions/1/approve`, {})).statusCode).toBe(200);
    expect((await call(f, admin, 'POST', `${base}/deploy`, { version: 1 })).statusCode).toBe(200);
    const embed = async (model: string) => {
      const res = await call(f, dev, 'POST', '/v1/embeddings', {
        model,
        input: 'a short sentence',
      });
      expect(res.statusCode).toBe(200);
      return res.json<{ data: { embedding: number[] }[] }>().data[0]?.embedding;
    };
    const governed = await embed('bert-governed');
    expect(governed?.length).toBeGreaterThan(0);
    expect(governed).toEqual(await embed('tiny-bert'));
  }, 60_000);
});
