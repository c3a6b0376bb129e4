/**
 * @module test/datasets.test — the dataset API end to end with real tokens, on SQLite and (when
 * DATABASE_URL is set) PostgreSQL: an ml-engineer creates a dataset, uploads versions and reads
 * them; the access list refuses others (403 `dataset-access`, audited as a denial) until a
 * `sub:`, `client:` or `role:` entry grants them; If-Match guards concurrent edits; bad uploads
 * and names keep nothing; a download larger than the body limit streams over a real socket;
 * soft delete hides a dataset whose content the retention job then purges, sparing blobs a
 * model version or another dataset still uses; an auditor reads and changes nothing; every
 * action is an audit event and the chain verifies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { BlobStore, DatasetService } from '../src/registry/index.js';
import { startApp, type Fixture } from './support/app-fixture.js';

const url = process.env.DATABASE_URL ?? '';
if (url === '') {
  console.warn(
    'datasets: PostgreSQL run skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run it',
  );
}

const MiB = 1024 * 1024;
const DAY = 86_400_000;
const BODY_LIMIT = 64 * 1024;
const MAX_BLOB = 40 * MiB;
const BIG = 32 * MiB;
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

interface ErrorBody {
  error: { code: string; message: string; etag?: string };
}
interface DatasetBody {
  name: string;
  etag: string;
  labels: string[];
  acl: { principal: string; access: string }[];
  versions?: { digest: string; size: number }[];
}
interface Stored {
  action: string;
  resource: string | null;
  subject: string | null;
  decision: string;
  reason: string;
  status: number | null;
}

const backends = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: url === '' },
];

describe.each(backends)('datasets on $name', ({ name: backend, skip }) => {
  const schema = `gatehouse_datasets_${randomBytes(5).toString('hex')}`;
  let f: Fixture;
  const tokens: Record<string, string> = {};

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    who: string,
    opts: { json?: unknown; body?: Buffer | Readable; headers?: Record<string, string> } = {},
  ) =>
    f.app.http.inject({
      method,
      url: path,
      headers: {
        authorization: `Bearer ${tokens[who] ?? ''}`,
        ...(opts.body === undefined ? {} : { 'content-type': 'application/octet-stream' }),
        ...opts.headers,
      },
      ...(opts.json === undefined ? {} : { payload: opts.json as object }),
      ...(opts.body === undefined ? {} : { payload: opts.body }),
    });
  const upload = (ds: string, content: Buffer, who = 'eng', digest = sha(content)) =>
    call('PUT', `/v1/datasets/${ds}/versions/${digest}`, who, { body: content });
  const blobPath = (digest: string) => join(f.dir, 'blobs', digest.slice(0, 2), digest);
  const errorOf = (res: { json: () => unknown }) => (res.json() as ErrorBody).error;
  async function events(): Promise<Stored[]> {
    const chain = f.app.audit?.chain ?? '';
    const rows = await f.app.store.audit.events(chain, 0, 100_000);
    return rows.map((r) => JSON.parse(r.event) as Stored);
  }
  /** Every file under the blob dir, temp files included. */
  async function blobFiles(): Promise<string[]> {
    const entries = await readdir(join(f.dir, 'blobs'), { recursive: true }).catch(() => []);
    return entries.filter((e) => e.includes('/')).sort();
  }

  beforeAll(async () => {
    if (skip) return;
    f = await startApp({
      listen: true,
      config: {
        server: { bodyLimit: BODY_LIMIT },
        registry: { maxBlobBytes: MAX_BLOB, retentionDays: 30 },
        ...(backend === 'postgres' ? { store: { url, schema } } : {}),
      },
    });
    const issue = async (
      key: string,
      subject: string,
      clientId: string,
      roles: string[],
      scopes: string[],
    ) => {
      ({ token: tokens[key] } = await f.app.auth.issuer.issue({
        subject,
        clientId,
        roles,
        scopes,
        ttl: 3600,
      }));
    };
    const rw = ['datasets:read', 'datasets:write'];
    await issue('eng', 'eng-1', 'gh_eng', ['ml-engineer'], rw);
    await issue('other', 'eng-2', 'gh_other', ['ml-engineer'], rw);
    await issue('ci', 'ci-bot', 'gh_ci', ['ml-engineer'], rw);
    await issue('auditor', 'aud-1', 'gh_aud', ['auditor'], ['datasets:read', 'audit:read']);
    await issue('dev', 'dev-1', 'gh_dev', ['developer'], ['models:read']);
  });

  afterAll(async () => {
    if (skip) return;
    await f.close();
    if (backend === 'postgres') {
      const { Client } = await import('pg');
      const admin = new Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  describe.skipIf(skip)('the API', () => {
    const v1 = Buffer.from('ticket,label\n1,refund\n');

    it('lets an ml-engineer create a dataset it owns, once', async () => {
      const res = await call('POST', '/v1/datasets', 'eng', {
        json: { name: 'tickets', labels: ['pii', 'confidential'] },
      });
      expect(res.statusCode).toBe(201);
      expect(res.headers.etag).toBe('"1"');
      expect(res.json()).toMatchObject({
        object: 'dataset',
        name: 'tickets',
        owner: { issuer: f.base, subject: 'eng-1' },
        labels: ['pii', 'confidential'],
        acl: [],
        etag: '1',
        versions: [],
      });
      const again = await call('POST', '/v1/datasets', 'eng', { json: { name: 'tickets' } });
      expect(again.statusCode).toBe(409);
      expect(errorOf(again).code).toBe('dataset-exists');
      const bad = await call('POST', '/v1/datasets', 'eng', {
        json: { name: 'x', labels: ['PII'], acl: [] },
      });
      expect(errorOf(bad).code).toBe('label-invalid');
      const badAcl = await call('POST', '/v1/datasets', 'eng', {
        json: { name: 'y', acl: [{ principal: 'group:x', access: 'read' }] },
      });
      expect(errorOf(badAcl).code).toBe('acl-invalid');
    });

    it('refuses path tricks in names and digests with 400', async () => {
      for (const name of ['../etc', 'a/b', 'a\u0000b', '..', 'Upper', '.hidden']) {
        const res = await call('POST', '/v1/datasets', 'eng', { json: { name } });
        expect(res.statusCode, name).toBe(400);
        expect(errorOf(res).code).toBe('name-invalid');
      }
      for (const seg of ['..%2Fetc', 'a%00b', 'x..y', 'a%5Cb', '%2Fetc']) {
        const res = await call('GET', `/v1/datasets/${seg}`, 'eng');
        expect(res.statusCode, seg).toBe(400);
        expect(errorOf(res).code).toBe('name-invalid');
      }
      const bad = await call('PUT', `/v1/datasets/tickets/versions/..%2F${'a'.repeat(61)}`, 'eng', {
        body: v1,
      });
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad).code).toBe('digest-invalid');
      expect(await blobFiles()).toEqual([]);
    });

    it('uploads versions and reads them back', async () => {
      const res = await upload('tickets', v1);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        object: 'dataset.version',
        dataset: 'tickets',
        digest: sha(v1),
        size: v1.length,
        created_by: { issuer: f.base, subject: 'eng-1' },
      });
      expect((await upload('tickets', v1)).statusCode).toBe(200);
      const list = await call('GET', '/v1/datasets/tickets/versions', 'eng');
      expect(list.json<{ data: unknown[] }>().data).toHaveLength(1);
      const meta = await call('GET', '/v1/datasets/tickets', 'eng');
      expect(meta.headers.etag).toBe('"1"');
      expect(meta.json<DatasetBody>().versions).toMatchObject([{ digest: sha(v1) }]);
      const content = await call('GET', `/v1/datasets/tickets/versions/${sha(v1)}/content`, 'eng');
      expect(content.statusCode).toBe(200);
      expect(content.headers['content-type']).toBe('application/octet-stream');
      expect(content.headers.etag).toBe(`"${sha(v1)}"`);
      expect(content.rawPayload.equals(v1)).toBe(true);
      const unknown = await call(
        'GET',
        `/v1/datasets/tickets/versions/${sha('no')}/content`,
        'eng',
      );
      expect(errorOf(unknown).code).toBe('version-not-found');
      expect(errorOf(await call('GET', '/v1/datasets/nothing', 'eng')).code).toBe(
        'dataset-not-found',
      );
    });

    it('refuses an identity the access list does not name, and audits the denial', async () => {
      for (const [method, path] of [
        ['GET', '/v1/datasets/tickets'],
        ['GET', '/v1/datasets/tickets/versions'],
        ['GET', `/v1/datasets/tickets/versions/${sha(v1)}/content`],
        ['GET', `/v1/datasets/tickets/versions/${sha(v1)}/models`],
        ['DELETE', '/v1/datasets/tickets'],
      ] as const) {
        const res = await call(method, path, 'other');
        expect(res.statusCode, path).toBe(403);
        expect(errorOf(res).code).toBe('dataset-access');
      }
      const sneaky = Buffer.from('not theirs');
      const put = await upload('tickets', sneaky, 'other');
      expect(put.statusCode).toBe(403);
      expect(errorOf(put).code).toBe('dataset-access');
      expect(existsSync(blobPath(sha(sneaky)))).toBe(false);
      const list = await call('GET', '/v1/datasets', 'other');
      expect(list.json<{ data: DatasetBody[] }>().data.map((d) => d.name)).not.toContain('tickets');
      const denied = (await events()).find(
        (e) => e.subject === 'eng-2' && e.action === 'dataset.read',
      );
      expect(denied).toMatchObject({
        decision: 'deny',
        status: 403,
        reason: 'refused: dataset-access',
        resource: 'dataset:tickets',
      });
      // A developer's token lacks the scope: the policy refuses before the access list is read.
      const dev = await call('GET', '/v1/datasets/tickets', 'dev');
      expect(dev.statusCode).toBe(403);
      expect(errorOf(dev).code).toBe('insufficient_scope');
    });

    it('needs If-Match to change a dataset: 428 without, 412 when stale', async () => {
      const none = await call('PATCH', '/v1/datasets/tickets', 'eng', { json: { labels: [] } });
      expect(none.statusCode).toBe(428);
      expect(errorOf(none).code).toBe('if-match-required');
      const star = await call('PATCH', '/v1/datasets/tickets', 'eng', {
        json: { labels: [] },
        headers: { 'if-match': '*' },
      });
      expect(errorOf(star).code).toBe('if-match-invalid');
      const [a, b] = (await Promise.all(
        ['winner-a', 'winner-b'].map((l) =>
          call('PATCH', '/v1/datasets/tickets', 'eng', {
            json: { labels: ['pii', l] },
            headers: { 'if-match': '"1"' },
          }),
        ),
      )) as [Awaited<ReturnType<typeof call>>, Awaited<ReturnType<typeof call>>];
      const statuses = [a.statusCode, b.statusCode].sort();
      expect(statuses).toEqual([200, 412]);
      const won = a.statusCode === 200 ? a : b;
      const lost = a.statusCode === 200 ? b : a;
      expect(won.headers.etag).toBe('"2"');
      expect(lost.headers.etag).toBe('"2"');
      expect(errorOf(lost)).toMatchObject({ code: 'etag-stale', etag: '2' });
      const now = (await call('GET', '/v1/datasets/tickets', 'eng')).json<DatasetBody>();
      expect(now.etag).toBe('2');
      expect(now.labels).toEqual(won.json<DatasetBody>().labels);
      const weak = await call('PATCH', '/v1/datasets/tickets', 'eng', {
        json: { labels: ['pii'] },
        headers: { 'if-match': 'W/"2"' },
      });
      expect(weak.statusCode).toBe(412);
    });

    it('grants through sub:, client: and role: entries, each only what it names', async () => {
      const acl = [
        { principal: 'sub:eng-2', access: 'read' },
        { principal: 'client:gh_ci', access: 'write' },
        { principal: 'role:auditor', access: 'admin' },
      ];
      const res = await call('PATCH', '/v1/datasets/tickets', 'eng', {
        json: { acl },
        headers: { 'if-match': '"2"' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json<DatasetBody>().acl).toEqual(acl);
      expect((await call('GET', '/v1/datasets/tickets', 'other')).statusCode).toBe(200);
      const list = await call('GET', '/v1/datasets', 'other');
      expect(list.json<{ data: DatasetBody[] }>().data.map((d) => d.name)).toContain('tickets');
      expect((await upload('tickets', Buffer.from('eng-2 may not'), 'other')).statusCode).toBe(403);
      const v2 = Buffer.from('ticket,label\n2,refund\n');
      expect((await upload('tickets', v2, 'ci')).statusCode).toBe(201);
      // Labels need write, the access list admin: the client entry has write only.
      const relabel = await call('PATCH', '/v1/datasets/tickets', 'ci', {
        json: { labels: ['pii'] },
        headers: { 'if-match': '"3"' },
      });
      expect(relabel.statusCode).toBe(200);
      const regrant = await call('PATCH', '/v1/datasets/tickets', 'ci', {
        json: { acl: [] },
        headers: { 'if-match': '"4"' },
      });
      expect(errorOf(regrant).code).toBe('dataset-access');
      expect((await call('GET', '/v1/datasets/tickets', 'auditor')).statusCode).toBe(200);
    });

    it('lets an auditor read metadata and refuses it every write, even as an admin entry', async () => {
      const meta = await call('GET', '/v1/datasets/tickets', 'auditor');
      expect(meta.json<DatasetBody>().name).toBe('tickets');
      expect((await call('GET', '/v1/datasets/tickets/versions', 'auditor')).statusCode).toBe(200);
      const writes = [
        call('POST', '/v1/datasets', 'auditor', { json: { name: 'audit-made' } }),
        call('PATCH', '/v1/datasets/tickets', 'auditor', {
          json: { labels: [] },
          headers: { 'if-match': '"4"' },
        }),
        call('DELETE', '/v1/datasets/tickets', 'auditor'),
        upload('tickets', Buffer.from('auditor data'), 'auditor'),
      ];
      for (const res of await Promise.all(writes)) {
        expect(res.statusCode).toBe(403);
        expect(errorOf(res).code).toBe('insufficient_scope');
      }
      expect((await call('GET', '/v1/datasets/tickets', 'eng')).json<DatasetBody>().etag).toBe('4');
      expect(existsSync(blobPath(sha('auditor data')))).toBe(false);
    });

    it('refuses an oversized upload with 413 and a digest mismatch with 400, keeping nothing', async () => {
      const before = await blobFiles();
      const total = MAX_BLOB + MiB;
      let pulled = 0;
      const big = Readable.from(
        (function* () {
          while (pulled < total) {
            pulled += 64 * 1024;
            yield Buffer.alloc(64 * 1024, 7);
          }
        })(),
      );
      const res = await upload('tickets', big as unknown as Buffer, 'eng', sha('whatever'));
      expect(res.statusCode).toBe(413);
      expect(pulled).toBeLessThan(total);
      expect(await blobFiles()).toEqual(before);
      const mismatch = await upload('tickets', Buffer.from('abd'), 'eng', sha('abc'));
      expect(mismatch.statusCode).toBe(400);
      expect(errorOf(mismatch).code).toBe('digest-mismatch');
      expect(await blobFiles()).toEqual(before);
      const versions = await call('GET', '/v1/datasets/tickets/versions', 'eng');
      expect(versions.json<{ data: unknown[] }>().data).toHaveLength(2);
    });

    it('streams a file larger than the body limit both ways over a real socket', async () => {
      const file = join(f.dir, 'big.bin');
      const hash = createHash('sha256');
      await pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < BIG / MiB; i++) {
              const chunk = randomBytes(MiB);
              hash.update(chunk);
              yield chunk;
            }
          })(),
        ),
        createWriteStream(file),
      );
      const digest = hash.digest('hex');
      const put = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`${f.base}/v1/datasets/tickets/versions/${digest}`, {
          method: 'PUT',
          headers: {
            authorization: `Bearer ${tokens.eng ?? ''}`,
            'content-type': 'application/octet-stream',
            'content-length': String(BIG),
          },
        });
        req.on('response', resolve).on('error', reject);
        createReadStream(file).pipe(req);
      });
      put.resume();
      expect(put.statusCode).toBe(201);
      await rm(file);

      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        httpRequest(`${f.base}/v1/datasets/tickets/versions/${digest}/content`, {
          headers: { authorization: `Bearer ${tokens.eng ?? ''}` },
        })
          .on('response', resolve)
          .on('error', reject)
          .end();
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(BIG));
      const got = createHash('sha256');
      let size = 0;
      const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
      res.pause();
      got.update(first);
      size += first.length;
      await new Promise((r) => setTimeout(r, 300));
      // With the client not reading, the server still holds the blob open: it has not read it
      // to its end (a file read whole, into memory or a buffer, is closed by then), so it
      // streams with backpressure; the socket buffers hold far less than the file.
      const path = blobPath(digest);
      let open = 0;
      for (const fd of await readdir('/proc/self/fd')) {
        if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) open++;
      }
      expect(open).toBe(1);
      for await (const chunk of res) {
        got.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      expect(size).toBe(BIG);
      expect(got.digest('hex')).toBe(digest);
    });

    it('answers lineage: the model versions trained on a dataset version', async () => {
      const proposed = await f.app.store.registry.proposeVersion(
        {
          model: 'support-bot',
          backend: 'echo',
          task: 'chat',
          artifactSha256: sha('support-bot weights'),
          artifactSize: 1,
          params: {},
          proposedBy: { issuer: f.base, subject: 'eng-1' },
          datasets: [{ name: 'tickets', digest: sha(v1) }],
          metadata: {},
        },
        f.now,
      );
      expect(proposed.ok).toBe(true);
      const res = await call('GET', `/v1/datasets/tickets/versions/${sha(v1)}/models`, 'eng');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        object: 'list',
        data: [{ object: 'registry.model_version', model: 'support-bot', version: 1 }],
      });
    });

    it('soft-deletes, keeps content until purged, and purges only unreferenced blobs', async () => {
      const only = Buffer.from('only in scratch');
      const shared = Buffer.from('in scratch and in kept');
      const weights = Buffer.from('model weights uploaded as a dataset file');
      for (const name of ['scratch', 'kept']) {
        expect((await call('POST', '/v1/datasets', 'eng', { json: { name } })).statusCode).toBe(
          201,
        );
      }
      for (const content of [only, shared, weights]) {
        expect((await upload('scratch', content)).statusCode).toBe(201);
      }
      expect((await upload('kept', shared)).statusCode).toBe(201);
      const artifact = await f.app.store.registry.proposeVersion(
        {
          model: 'weights-model',
          backend: 'echo',
          task: 'chat',
          artifactSha256: sha(weights),
          artifactSize: weights.length,
          params: {},
          proposedBy: { issuer: f.base, subject: 'eng-1' },
          datasets: [],
          metadata: {},
        },
        f.now,
      );
      expect(artifact.ok).toBe(true);

      const stale = await call('DELETE', '/v1/datasets/scratch', 'eng', {
        headers: { 'if-match': '"9"' },
      });
      expect(stale.statusCode).toBe(412);
      const del = await call('DELETE', '/v1/datasets/scratch', 'eng');
      expect(del.statusCode).toBe(200);
      expect(del.json()).toMatchObject({ object: 'dataset', name: 'scratch', etag: '2' });
      expect((await call('GET', '/v1/datasets/scratch', 'eng')).statusCode).toBe(404);
      const listed = await call('GET', '/v1/datasets', 'eng');
      expect(listed.json<{ data: DatasetBody[] }>().data.map((d) => d.name)).toEqual([
        'kept',
        'tickets',
      ]);
      for (const c of [only, shared, weights]) expect(existsSync(blobPath(sha(c)))).toBe(true);

      const service = new DatasetService({
        store: f.app.store,
        blobs: new BlobStore(join(f.dir, 'blobs')),
        clock: () => f.now,
        limits: f.config.registry,
        audit: f.app.audit,
        issuer: f.base,
      });
      expect(await service.purge(f.now + 29 * DAY)).toEqual({
        datasets: [],
        deleted: [],
        kept: [],
      });
      expect(existsSync(blobPath(sha(only)))).toBe(true);
      const report = await service.purge(f.now + 31 * DAY);
      expect(report.datasets).toEqual(['scratch']);
      expect(report.deleted).toEqual([sha(only)]);
      expect([...report.kept].sort()).toEqual([sha(shared), sha(weights)].sort());
      expect(existsSync(blobPath(sha(only)))).toBe(false);
      expect(existsSync(blobPath(sha(shared)))).toBe(true);
      expect(existsSync(blobPath(sha(weights)))).toBe(true);
      const kept = await call('GET', `/v1/datasets/kept/versions/${sha(shared)}/content`, 'eng');
      expect(kept.rawPayload.equals(shared)).toBe(true);
      // The name is free again once purged.
      expect(
        (await call('POST', '/v1/datasets', 'eng', { json: { name: 'scratch' } })).statusCode,
      ).toBe(201);
    });

    it('purges from the command line: gatehouse datasets purge', async () => {
      const content = Buffer.from('deleted from the command line');
      expect(
        (await call('POST', '/v1/datasets', 'eng', { json: { name: 'cli-old' } })).statusCode,
      ).toBe(201);
      expect((await upload('cli-old', content)).statusCode).toBe(201);
      expect((await call('DELETE', '/v1/datasets/cli-old', 'eng')).statusCode).toBe(200);
      const file = join(f.dir, 'cli.yaml');
      await writeFile(
        file,
        backend === 'postgres' ? `store:\n  url: ${url}\n  schema: ${schema}\n` : '',
      );
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      const argv = ['datasets', 'purge', '--config', file, '--data-dir', f.dir, '--json'];
      // Kept for 30 days by default; --days 0 purges what was deleted before now.
      expect(await runCli(argv, io)).toBe(0);
      expect(JSON.parse(out.pop() ?? '')).toMatchObject({ datasets: [] });
      expect(await runCli([...argv, '--days', '0'], io)).toBe(0);
      expect(JSON.parse(out.pop() ?? '')).toEqual({
        datasets: ['cli-old'],
        deleted: [sha(content)],
        kept: [],
      });
      expect(existsSync(blobPath(sha(content)))).toBe(false);
      expect(await runCli([...argv, '--days', '-1'], io)).toBe(2);
    });

    it('records every action as an audit event, and the chain verifies', async () => {
      const all = await events();
      const actions = new Set(
        all.filter((e) => e.action.startsWith('dataset.')).map((e) => e.action),
      );
      expect([...actions].sort()).toEqual(
        [
          'dataset.create',
          'dataset.delete',
          'dataset.download',
          'dataset.lineage',
          'dataset.list',
          'dataset.purge',
          'dataset.read',
          'dataset.update',
          'dataset.upload',
          'dataset.versions',
        ].sort(),
      );
      expect(all.find((e) => e.action === 'dataset.purge')).toMatchObject({
        resource: 'dataset:scratch',
        decision: 'allow',
      });
      expect(all.find((e) => e.action === 'dataset.upload' && e.status === 413)).toMatchObject({
        decision: 'deny',
        subject: 'eng-1',
      });
      expect(all.find((e) => e.action === 'dataset.upload' && e.status === 201)).toMatchObject({
        resource: `dataset:tickets@${sha(Buffer.from('ticket,label\n1,refund\n'))}`,
      });
      const verify = await call('GET', '/v1/audit/verify', 'auditor');
      expect(verify.statusCode).toBe(200);
      expect(verify.json()).toMatchObject({ ok: true });
    });
  });
});
