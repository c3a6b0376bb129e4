/**
 * Registry versions served by a running app, over a real socket with real tokens: an active
 * version deployed from its blob while chat requests are in flight (none fails; those before
 * the swap are answered by the config model, the rest by the version), `/v1/models` showing the
 * version and its digest, retire, and the active version restored at start-up over a config
 * entry of the same id. The versions live in the app's own store: SQLite, and PostgreSQL too
 * when DATABASE_URL is set.
 */
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceRegistryServing, servingVersion } from '../src/inference/index.js';
import { InferenceService, ServedModels } from '../src/inference/index.js';
import { BlobStore } from '../src/registry/index.js';
import type { Actor, ModelVersionRecord } from '../src/store/index.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';
import { modelSpec } from './support/model-spec.js';

const alice: Actor = { issuer: 'https://idp.example', subject: 'alice' };
const bob: Actor = { issuer: 'https://idp.example', subject: 'bob' };
const WORDS = Array.from({ length: 30 }, (_, i) => `w${String(i)}`).join(' ');
/** The config model echoes all 30 words; the version's 40-token window leaves room for 10. */
const CONFIG_CHAT = { id: 'chat', backend: 'echo', slots: 2, delayMs: 3 };
const VERSION_PARAMS = { slots: 2, delayMs: 3, contextSize: 40 };

const url = process.env.DATABASE_URL ?? '';
if (url === '')
  console.warn('registry-serving: PostgreSQL leg skipped; set DATABASE_URL to run it');
const schema = `gatehouse_serving_${randomBytes(5).toString('hex')}`;
const STORES: [string, Record<string, unknown>][] = [
  ['SQLite', {}],
  ...(url === ''
    ? []
    : [['PostgreSQL', { store: { url, schema } }] as [string, Record<string, unknown>]]),
];

describe.each(STORES)('a version deployed on a running server (%s)', (_name, storeConfig) => {
  let f: Fixture;
  let blobs: BlobStore;
  let serving: InferenceRegistryServing;
  const tokens: string[] = [];
  const logs: { msg: string; obj: Record<string, unknown> }[] = [];
  const log = (_level: string, obj: Record<string, unknown>, msg: string): void => {
    logs.push({ msg, obj });
  };

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: { models: [CONFIG_CHAT], ...storeConfig },
    });
    blobs = new BlobStore(join(f.config.dataDir, 'blobs'));
    serving = new InferenceRegistryServing(f.app.inference.served, f.config.inference, { log });
    // Several identities, so that no per-identity limit stands between the load and the swap.
    for (let i = 0; i < 4; i++) {
      const client = await f.client({ name: `dev-${String(i)}`, roles: ['developer'] });
      tokens.push((await requestToken(f, client)).json<{ access_token: string }>().access_token);
    }
  });

  afterAll(async () => {
    await f.close();
    if (storeConfig.store === undefined) return;
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  /** Stores `bytes` as a blob and takes a version of `model` on it to `active`. */
  async function activeVersion(model: string, bytes: string): Promise<ModelVersionRecord> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await blobs.put(sha256, Readable.from([Buffer.from(bytes)]), { maxBytes: 1024 });
    const registry = f.app.store.registry;
    const proposed = await registry.proposeVersion(
      {
        model,
        backend: 'echo',
        task: 'generation',
        artifactSha256: sha256,
        artifactSize: Buffer.byteLength(bytes),
        params: VERSION_PARAMS,
        proposedBy: alice,
        datasets: [],
        metadata: {},
      },
      Date.now(),
    );
    if (!proposed.ok) throw new Error('proposal refused');
    const id = proposed.record.id;
    const approved = await registry.transition(id, 'proposed', 'approved', bob, null, Date.now());
    if (!approved.ok) throw new Error('approval refused');
    const deployed = await registry.deploy(model, id, bob, Date.now());
    if (!deployed.ok) throw new Error('deploy refused');
    return deployed.current;
  }

  async function chat(i: number): Promise<{ status: number; words: number }> {
    const res = await fetch(`${f.base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens[i % tokens.length] ?? ''}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'chat',
        messages: [{ role: 'user', content: WORDS }],
        max_tokens: 30,
      }),
    });
    if (res.status !== 200) return { status: res.status, words: -1 };
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    const text = body.choices[0]?.message.content ?? '';
    return { status: res.status, words: text.split(' ').length };
  }

  async function gatehouseFacts(): Promise<Record<string, unknown>> {
    const res = await fetch(`${f.base}/v1/models/chat`, {
      headers: { authorization: `Bearer ${tokens[0] ?? ''}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { gatehouse: Record<string, unknown> }).gatehouse;
  }

  let record: ModelVersionRecord;

  it('lists a config model with no version', async () => {
    expect(await gatehouseFacts()).toMatchObject({ version: null, version_id: null, sha256: null });
  });

  it('swaps under concurrent chat requests: none fails, each answered by the one it reached', async () => {
    record = await activeVersion('chat', 'echo artifact, version 1');
    let answered = 0;
    const before = Array.from({ length: 12 }, (_, i) =>
      chat(i).finally(() => {
        answered++;
      }),
    );
    // Each request is looked up as it arrives: wait until all twelve hold the config model.
    const slots = f.app.inference.served.get('chat').slots;
    while ((slots?.busy ?? 0) + (slots?.waiting ?? 0) + answered < 12)
      await new Promise((r) => setTimeout(r, 2));
    const prepared = await serving.prepare(
      servingVersion(record, blobs.pathOf(record.artifactSha256)),
    );
    prepared.commit();
    const after = Array.from({ length: 12 }, (_, i) => chat(i));
    const results = await Promise.all([...before, ...after]);
    expect(results.map((r) => r.status)).toEqual(Array<number>(24).fill(200));
    expect(results.slice(0, 12).map((r) => r.words)).toEqual(Array<number>(12).fill(30));
    expect(results.slice(12).map((r) => r.words)).toEqual(Array<number>(12).fill(10));
  });

  it('shows the active version, its id and its approved digest in /v1/models', async () => {
    expect(await gatehouseFacts()).toMatchObject({
      backend: 'echo',
      version: 1,
      version_id: record.id,
      sha256: record.artifactSha256,
      size_bytes: record.artifactSize,
    });
    const res = await fetch(`${f.base}/v1/models`, {
      headers: { authorization: `Bearer ${tokens[0] ?? ''}` },
    });
    const list = (await res.json()) as { data: { id: string; gatehouse: { version: unknown } }[] };
    expect(list.data.find((m) => m.id === 'chat')?.gatehouse.version).toBe(1);
  });

  it('restores the active version at start-up over the config entry of the same id', async () => {
    const served = new ServedModels([modelSpec({ id: 'chat', backend: 'echo' })]);
    const restorer = new InferenceRegistryServing(served, f.config.inference, { log });
    const restore = await restorer.restoreActive(f.app.store.registry, (v) =>
      blobs.pathOf(v.artifactSha256),
    );
    expect(restore.versions.map((v) => v.versionId)).toEqual([record.id]);
    expect(served.status()).toEqual([{ id: 'chat', state: 'loading', required: true }]);
    await restore.load();
    await served.load({ log });
    const service = new InferenceService(served);
    expect(service.lookup('chat').version).toEqual({
      versionId: record.id,
      version: 1,
      sha256: record.artifactSha256,
    });
    const r = await service.generate(
      'chat',
      { prompt: WORDS, maxTokens: 30 },
      { identity: 'u', signal: new AbortController().signal },
    );
    expect(r.completionTokens).toBe(10);
    expect(logs.map((l) => l.msg)).toContain(
      'the registry has an active version of this model: its config entry is not loaded',
    );
    await served.close();
  });

  it('refuses at start-up a blob whose bytes were replaced by hand: the model is failed', async () => {
    const served = new ServedModels([]);
    const restorer = new InferenceRegistryServing(served, f.config.inference, { log });
    const tampered = join(f.dir, 'tampered');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(tampered, 'not the approved bytes');
    const restore = await restorer.restoreActive(f.app.store.registry, () => tampered);
    await restore.load();
    expect(served.status()).toEqual([
      {
        id: 'chat',
        state: 'failed',
        required: true,
        reason: 'model file missing, unreadable or not matching its sha256',
      },
    ]);
    await served.close();
  });

  it('serves the config entry instead when a few-shot classifier is built on the model', async () => {
    const served = new ServedModels([modelSpec({ id: 'chat', backend: 'echo' })]);
    const classifiers = { moderation: { model: 'chat' }, promptInjection: null };
    const restorer = new InferenceRegistryServing(served, classifiers, { log });
    const restore = await restorer.restoreActive(f.app.store.registry, (v) =>
      blobs.pathOf(v.artifactSha256),
    );
    expect(restore.versions).toEqual([]);
    await restore.load();
    await served.load({ log });
    expect(served.get('chat').version).toBeUndefined();
    expect(logs.map((l) => l.msg)).toContain(
      'active version not served: a few-shot classifier is built on this model; the config entry is served',
    );
    await served.close();
  });

  it('retire stops serving it: 404 for new requests', async () => {
    await serving.retire('chat', record.id);
    expect(serving.served('chat')).toBeUndefined();
    expect((await chat(0)).status).toBe(404);
  });
});
