/**
 * The model registry end to end through the HTTP API, with real tokens from the token endpoint
 * for each role: blobs (streamed upload, digest and size limits with nothing kept), propose →
 * self-approval refused (even for an identity that also holds admin) → approve by a second admin
 * → deploy → rollback → retire, invalid transitions, unknown names, path tricks, dataset lineage
 * refusals, an auditor who reads everything and changes nothing, and the audit trail of all of
 * it with a chain that verifies. On SQLite, and on PostgreSQL when DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type Fixture } from './support/app-fixture.js';
import {
  artifact,
  call,
  ggufArtifact,
  caller,
  putBlob,
  type ApiError,
  type Caller,
  type DeploymentBody,
  type VersionBody,
} from './support/registry-api.js';

const url = process.env.DATABASE_URL ?? '';
if (url === '') {
  console.warn(
    'registry-models (postgres): skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run',
  );
}

const MAX_BLOB = 512 * 1024; // above the tiny GGUF models' ~165 KB
const OWNER = { issuer: 'https://idp.example', subject: 'data-steward' };

/** Every file below `dir`, recursively (what a refused upload must not have left). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

const backends = [
  { name: 'sqlite', store: undefined },
  {
    name: 'postgres',
    store:
      url === '' ? undefined : { url, schema: `gh_registry_${randomBytes(5).toString('hex')}` },
  },
] as const;

for (const backend of backends) {
  describe.skipIf(backend.name === 'postgres' && url === '')(
    `model registry on ${backend.name}`,
    () => {
      let f: Fixture;
      let eng: Caller; // ml-engineer who also holds admin: proposes, may never approve its own
      let admin: Caller; // a second admin: approves and deploys
      let auditor: Caller;
      let ml: Caller; // a plain ml-engineer
      let narrow: Caller; // ml-engineer whose token lacks datasets:read
      let dev: Caller; // a developer who chats with the served model
      let allowed: string;
      const blobsDir = () => join(f.dir, 'blobs');
      const model = `chat-${randomBytes(3).toString('hex')}`;
      // Loadable models: deploy loads the version's artifact with its backend.
      let a1: { bytes: Buffer; sha256: string };
      let a2: { bytes: Buffer; sha256: string };
      const dsFile = artifact(100);
      const ds = { readable: 'tickets', secret: 'hr-files', pii: 'customers' };

      beforeAll(async () => {
        allowed = mkdtempSync(join(tmpdir(), 'gh-registry-allowed-'));
        a1 = await ggufArtifact(1);
        a2 = await ggufArtifact(2);
        f = await startApp({
          config: {
            registry: { maxBlobBytes: MAX_BLOB, allowedPaths: [allowed] },
            ...(backend.store === undefined ? {} : { store: backend.store }),
          },
        });
        eng = await caller(f, ['ml-engineer', 'admin']);
        admin = await caller(f, ['admin']);
        auditor = await caller(f, ['auditor']);
        ml = await caller(f, ['ml-engineer']);
        narrow = await caller(f, ['ml-engineer'], ['models:propose']);
        dev = await caller(f, ['developer']);
        // The datasets API is another area's: the records are made in the store directly.
        const reg = f.app.store.registry;
        const acl = [{ principal: 'role:ml-engineer', access: 'read' as const }];
        for (const [name, labels, list] of [
          [ds.readable, ['public'], acl],
          [ds.secret, ['confidential'], []],
          [ds.pii, ['pii'], acl],
        ] as const) {
          expect(
            await reg.createDataset(
              { name, owner: OWNER, labels: [...labels], acl: [...list] },
              f.now,
            ),
          ).not.toBe(false);
          const added = await reg.addDatasetVersion(
            { dataset: name, digest: dsFile.sha256, size: 100, createdBy: OWNER },
            f.now,
          );
          expect(added.ok).toBe(true);
        }
      });
      afterAll(async () => {
        await f.close();
        rmSync(allowed, { recursive: true, force: true });
        if (backend.store !== undefined) {
          const { Client } = await import('pg');
          const pg = new Client({ connectionString: url });
          await pg.connect();
          await pg.query(`DROP SCHEMA IF EXISTS ${backend.store.schema} CASCADE`);
          await pg.end();
        }
      });

      const versions = `/v1/registry/models/${model}/versions`;
      const propose = (who: Caller, body: Record<string, unknown>, m = model) =>
        call(f, who, 'POST', `/v1/registry/models/${m}/versions`, body);
      /** The version `/v1/models/{model}` names (undefined when not served), and a chat's status. */
      const served = async (m = model) => {
        const res = await call(f, dev, 'GET', `/v1/models/${m}`);
        if (res.statusCode === 404) return undefined;
        expect(res.statusCode).toBe(200);
        return res.json<{ gatehouse: { version: unknown } }>().gatehouse.version;
      };
      const chatStatus = async (m = model) =>
        (
          await call(f, dev, 'POST', '/v1/chat/completions', {
            model: m,
            messages: [{ role: 'user', content: 'hello' }],
            max_tokens: 4,
          })
        ).statusCode;
      const errorOf = (res: Awaited<ReturnType<typeof call>>) => res.json<ApiError>().error;

      it('stores an uploaded blob once, and refuses a bad digest or an oversized body keeping nothing', async () => {
        const first = await putBlob(f, eng, a1.sha256, a1.bytes);
        expect(first.statusCode).toBe(201);
        expect(first.json()).toEqual({
          object: 'registry.blob',
          sha256: a1.sha256,
          size: a1.bytes.length,
          created: true,
        });
        const again = await putBlob(f, eng, a1.sha256, a1.bytes);
        expect(again.statusCode).toBe(200);
        expect(again.json()).toMatchObject({ created: false });
        expect((await putBlob(f, eng, a2.sha256, a2.bytes)).statusCode).toBe(201);
        const before = filesUnder(blobsDir()).sort();

        const other = artifact();
        const mismatch = await putBlob(f, eng, other.sha256, a1.bytes);
        expect(mismatch.statusCode).toBe(400);
        expect(errorOf(mismatch).code).toBe('digest-mismatch');
        const big = artifact(MAX_BLOB + 1);
        const tooBig = await putBlob(f, eng, big.sha256, big.bytes);
        expect(tooBig.statusCode).toBe(413);
        const invalid = await putBlob(f, eng, 'ABC', a1.bytes);
        expect(invalid.statusCode).toBe(400);
        expect(errorOf(invalid).code).toBe('digest-invalid');
        const json = await call(f, eng, 'PUT', `/v1/registry/blobs/${other.sha256}`, { a: 1 });
        expect(json.statusCode).toBe(415);
        expect(filesUnder(blobsDir()).sort()).toEqual(before);
      });

      it('proposes a version of an uploaded blob with its training dataset', async () => {
        const res = await propose(eng, {
          backend: 'llama-cpp',
          sha256: a1.sha256,
          params: { threads: 1 },
          datasets: [{ name: ds.readable, digest: dsFile.sha256 }],
          metadata: { eval: { accuracy: 0.9 } },
        });
        expect(res.statusCode).toBe(201);
        const v = res.json<VersionBody>();
        expect(v).toMatchObject({
          object: 'registry.model_version',
          model,
          version: 1,
          task: 'generation',
          sha256: a1.sha256,
          size: a1.bytes.length,
          status: 'proposed',
          datasets: [{ name: ds.readable, digest: dsFile.sha256 }],
          proposed_by: { issuer: f.base, subject: eng.id, client_id: eng.id },
        });
      });

      it('refuses approval by the identity that proposed it, although it holds admin', async () => {
        const res = await call(f, eng, 'POST', `${versions}/1/approve`, { reason: 'mine' });
        expect(res.statusCode).toBe(403);
        expect(errorOf(res).code).toBe('self-approval');
        expect(errorOf(res).message).toMatch(/Two-person rule/);
        const v = await call(f, auditor, 'GET', `${versions}/1`);
        expect(v.json<VersionBody>().status).toBe('proposed');
      });

      it('approves by a second admin, deploys, rolls back and retires', async () => {
        const ok = await call(f, admin, 'POST', `${versions}/1/approve`, { reason: 'evals pass' });
        expect(ok.statusCode).toBe(200);
        expect(ok.json<VersionBody>().status).toBe('approved');
        const twice = await call(f, admin, 'POST', `${versions}/1/approve`);
        expect(twice.statusCode).toBe(409);
        expect(errorOf(twice)).toMatchObject({
          code: 'invalid-transition',
          current_status: 'approved',
        });

        const d1 = await call(f, admin, 'POST', `/v1/registry/models/${model}/deploy`, {
          version: 1,
        });
        expect(d1.statusCode).toBe(200);
        expect(d1.json<DeploymentBody>()).toMatchObject({
          object: 'registry.deployment',
          model,
          version: 1,
          previous_version: null,
          kind: 'deploy',
          actor: { subject: admin.id },
        });
        expect(await served()).toBe(1);
        expect(await chatStatus()).toBe(200);

        // Version 2 registered from a file under allowedPaths: hashed, and copied into the store.
        const file = join(allowed, 'v2.gguf');
        writeFileSync(file, a2.bytes);
        const p2 = await propose(ml, { backend: 'llama-cpp', path: file, sha256: a2.sha256 });
        expect(p2.statusCode).toBe(201);
        expect(p2.json<VersionBody>()).toMatchObject({
          version: 2,
          sha256: a2.sha256,
          size: a2.bytes.length,
          proposed_by: { subject: ml.id },
        });
        // An ml-engineer proposes; approving is not among its scopes at all.
        const byMl = await call(f, ml, 'POST', `${versions}/2/approve`);
        expect(errorOf(byMl).code).toBe('insufficient_scope');
        const unapproved = await call(f, admin, 'POST', `/v1/registry/models/${model}/deploy`, {
          version: 2,
        });
        expect(unapproved.statusCode).toBe(409);
        expect(errorOf(unapproved).current_status).toBe('proposed');
        expect((await call(f, admin, 'POST', `${versions}/2/approve`)).statusCode).toBe(200);
        const d2 = await call(f, admin, 'POST', `/v1/registry/models/${model}/deploy`, {
          version: 2,
        });
        expect(d2.json<DeploymentBody>()).toMatchObject({
          version: 2,
          previous_version: 1,
          kind: 'deploy',
        });
        expect(await served()).toBe(2);

        const back = await call(f, admin, 'POST', `/v1/registry/models/${model}/rollback`);
        expect(back.statusCode).toBe(200);
        expect(back.json<DeploymentBody>()).toMatchObject({
          version: 1,
          previous_version: 2,
          kind: 'rollback',
        });
        expect(await served()).toBe(1);
        const listed = await call(f, auditor, 'GET', '/v1/registry/models');
        expect(listed.json<{ data: unknown[] }>().data).toContainEqual({
          model,
          active: 1,
          versions: 2,
        });

        const retired = await call(f, admin, 'POST', `${versions}/2/retire`, {
          reason: 'superseded',
        });
        expect(retired.json<VersionBody>().status).toBe('retired');
        const again = await call(f, admin, 'POST', `${versions}/2/retire`);
        expect(errorOf(again)).toMatchObject({
          code: 'invalid-transition',
          current_status: 'retired',
        });
        const redeploy = await call(f, admin, 'POST', `/v1/registry/models/${model}/deploy`, {
          version: 2,
        });
        expect(redeploy.statusCode).toBe(409);
        const rejectActive = await call(f, admin, 'POST', `${versions}/1/reject`);
        expect(errorOf(rejectActive)).toMatchObject({
          code: 'invalid-transition',
          current_status: 'active',
        });
      });

      it('answers history, deployments and lineage', async () => {
        const h = await call(f, auditor, 'GET', `${versions}/1/history`);
        const steps = h.json<{
          data: {
            from: string | null;
            to: string;
            reason: string | null;
            actor: { subject: string };
          }[];
        }>().data;
        expect(steps.map((s) => [s.from, s.to])).toEqual([
          [null, 'proposed'],
          ['proposed', 'approved'],
          ['approved', 'active'],
          ['active', 'approved'],
          ['approved', 'active'],
        ]);
        expect(steps[1]).toMatchObject({ reason: 'evals pass', actor: { subject: admin.id } });
        const d = await call(f, auditor, 'GET', `/v1/registry/models/${model}/deployments`);
        expect(
          d
            .json<{ data: DeploymentBody[] }>()
            .data.map((x) => [x.kind, x.version, x.previous_version]),
        ).toEqual([
          ['deploy', 1, null],
          ['deploy', 2, 1],
          ['rollback', 1, 2],
        ]);
        const lineage = await call(f, auditor, 'GET', `${versions}/1/datasets`);
        expect(lineage.json()).toEqual({
          object: 'list',
          data: [{ name: ds.readable, digest: dsFile.sha256 }],
        });
      });

      it('streams the artifact of a version, and no other blob', async () => {
        const res = await call(f, auditor, 'GET', `/v1/registry/blobs/${a1.sha256}`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.headers['content-length']).toBe(String(a1.bytes.length));
        expect(res.headers.etag).toBe(`"${a1.sha256}"`);
        expect(res.rawPayload.equals(a1.bytes)).toBe(true);
        // A stored blob that is no model's artifact (a dataset file, say) is not served here.
        expect((await putBlob(f, eng, dsFile.sha256, dsFile.bytes)).statusCode).toBe(201);
        const other = await call(f, auditor, 'GET', `/v1/registry/blobs/${dsFile.sha256}`);
        expect(other.statusCode).toBe(404);
        expect(errorOf(other).code).toBe('blob-not-found');
      });

      it('answers 404 for unknown models, versions and blobs', async () => {
        const cases = [
          [call(f, auditor, 'GET', '/v1/registry/models/nope/versions'), 'model-not-found'],
          [call(f, auditor, 'GET', `${versions}/99`), 'version-not-found'],
          [call(f, admin, 'POST', `${versions}/99/approve`), 'version-not-found'],
          [call(f, admin, 'POST', '/v1/registry/models/nope/rollback'), 'model-not-found'],
          [propose(eng, { backend: 'echo', sha256: artifact().sha256 }), 'blob-not-found'],
          [
            propose(eng, {
              backend: 'echo',
              sha256: a1.sha256,
              datasets: [{ name: 'ghost', digest: dsFile.sha256 }],
            }),
            'dataset-not-found',
          ],
          [
            propose(eng, {
              backend: 'echo',
              sha256: a1.sha256,
              datasets: [{ name: ds.readable, digest: a1.sha256 }],
            }),
            'dataset-version-not-found',
          ],
        ] as const;
        for (const [pending, code] of cases) {
          const res = await pending;
          expect(res.statusCode, code).toBe(404);
          expect(errorOf(res).code).toBe(code);
        }
        const fresh = `solo-${randomBytes(3).toString('hex')}`;
        expect((await propose(eng, { backend: 'echo', sha256: a1.sha256 }, fresh)).statusCode).toBe(
          201,
        );
        const nothing = await call(f, admin, 'POST', `/v1/registry/models/${fresh}/rollback`);
        expect(errorOf(nothing).code).toBe('nothing-to-roll-back');
      });

      it('refuses path tricks in names and registered paths with 400', async () => {
        const outside = join(f.dir, 'outside.bin');
        writeFileSync(outside, a1.bytes);
        symlinkSync(outside, join(allowed, 'link.bin'));
        const cases = [
          [call(f, auditor, 'GET', '/v1/registry/models/..%2Fetc/versions'), 'name-invalid'],
          [call(f, auditor, 'GET', '/v1/registry/models/Chat/versions'), 'name-invalid'],
          [propose(eng, { backend: 'echo', sha256: a1.sha256 }, 'a..b'), 'name-invalid'],
          [propose(eng, { backend: 'echo', path: outside }), 'path-outside'],
          [propose(eng, { backend: 'echo', path: `${allowed}/../outside.bin` }), 'path-dotdot'],
          [propose(eng, { backend: 'echo', path: join(allowed, 'link.bin') }), 'path-escape'],
          [propose(eng, { backend: 'echo', path: `${allowed}/x\0.bin` }), 'path-nul'],
          [
            propose(eng, { backend: 'echo', sha256: a1.sha256, path: join(allowed, 'v2.gguf') }),
            'digest-mismatch',
          ],
          [propose(eng, { backend: 'echo' }), 'artifact-source'],
          [
            propose(eng, {
              backend: 'echo',
              sha256: a1.sha256,
              datasets: [{ name: '../x', digest: dsFile.sha256 }],
            }),
            'name-invalid',
          ],
        ] as const;
        for (const [pending, code] of cases) {
          const res = await pending;
          expect(res.statusCode, code).toBe(400);
          expect(errorOf(res).code).toBe(code);
        }
      });

      it('refuses training data the proposer may not read or the policy keeps from the model', async () => {
        const ref = (name: string) => ({
          backend: 'echo',
          sha256: a1.sha256,
          datasets: [{ name, digest: dsFile.sha256 }],
        });
        const acl = await propose(eng, ref(ds.secret));
        expect(acl.statusCode).toBe(403);
        expect(errorOf(acl)).toMatchObject({
          code: 'dataset-access',
          message: expect.stringContaining(`dataset ${ds.secret}`) as string,
        });
        const policy = await propose(narrow, ref(ds.readable));
        expect(policy.statusCode).toBe(403);
        expect(errorOf(policy)).toMatchObject({
          code: 'dataset-access',
          message: expect.stringContaining('policy') as string,
        });
        const pii = await propose(eng, ref(ds.pii));
        expect(pii.statusCode).toBe(403);
        expect(errorOf(pii)).toMatchObject({
          code: 'training-labels',
          message: expect.stringContaining('training.labels') as string,
        });
        const list = await call(f, auditor, 'GET', versions);
        expect(list.json<{ data: unknown[] }>().data).toHaveLength(2);
      });

      it('refuses to deploy a version whose artifact cannot be loaded, changing nothing', async () => {
        const broken = `${model}-broken`;
        const junk = artifact(500);
        expect((await putBlob(f, eng, junk.sha256, junk.bytes)).statusCode).toBe(201);
        const p = await propose(eng, { backend: 'llama-cpp', sha256: junk.sha256 }, broken);
        expect(p.statusCode).toBe(201);
        const path = `/v1/registry/models/${broken}`;
        expect((await call(f, admin, 'POST', `${path}/versions/1/approve`)).statusCode).toBe(200);
        const d = await call(f, admin, 'POST', `${path}/deploy`, { version: 1 });
        expect(d.statusCode).toBe(422);
        expect(errorOf(d).code).toBe('artifact-unloadable');
        expect(errorOf(d).message).toMatch(
          /^Version 1 of .* cannot be served: .*Nothing changed\.$/,
        );
        expect(d.body).not.toContain(f.dir);
        const v = await call(f, auditor, 'GET', `${path}/versions/1`);
        expect(v.json<VersionBody>().status).toBe('approved');
        const deployments = await call(f, auditor, 'GET', `${path}/deployments`);
        expect(deployments.json<{ data: unknown[] }>().data).toEqual([]);
      });

      it('lets an auditor read every record and change none', async () => {
        for (const path of [
          '/v1/registry/models',
          versions,
          `${versions}/1`,
          `${versions}/1/history`,
          `${versions}/1/datasets`,
          `/v1/registry/models/${model}/deployments`,
          `/v1/registry/blobs/${a1.sha256}`,
        ]) {
          expect((await call(f, auditor, 'GET', path)).statusCode, path).toBe(200);
        }
        const writes = [
          putBlob(f, auditor, a2.sha256, a2.bytes),
          propose(auditor, { backend: 'echo', sha256: a1.sha256 }),
          call(f, auditor, 'POST', `${versions}/1/approve`),
          call(f, auditor, 'POST', `${versions}/1/reject`),
          call(f, auditor, 'POST', `${versions}/1/retire`),
          call(f, auditor, 'POST', `/v1/registry/models/${model}/deploy`, { version: 1 }),
          call(f, auditor, 'POST', `/v1/registry/models/${model}/rollback`),
        ];
        for (const res of await Promise.all(writes)) {
          expect(res.statusCode).toBe(403);
          expect(errorOf(res).code).toBe('insufficient_scope');
        }
        // The ml-engineer without registry:read reads nothing either.
        expect((await call(f, narrow, 'GET', versions)).statusCode).toBe(403);
      });

      it('records every action in the audit log, and the chain verifies', async () => {
        const reader = await caller(f, ['auditor']);
        const events: {
          action: string;
          resource: string | null;
          decision: string;
          status: number;
          subject: string;
        }[] = [];
        let cursor: string | null = null;
        do {
          const q: string = cursor === null ? '' : `&cursor=${cursor}`;
          const page = await call(f, reader, 'GET', `/v1/audit/events?limit=1000${q}`);
          expect(page.statusCode).toBe(200);
          const body = page.json<{ data: typeof events; next_cursor: string | null }>();
          events.push(...body.data);
          cursor = body.next_cursor;
        } while (cursor !== null);
        const find = (action: string, decision: string, resource?: string) =>
          events.filter(
            (e) =>
              e.action === action &&
              e.decision === decision &&
              (resource === undefined || e.resource === resource),
          );
        expect(find('registry.blob_upload', 'allow', `blob:${a1.sha256}`).length).toBe(2);
        expect(find('registry.blob_upload', 'deny').length).toBeGreaterThanOrEqual(2); // 413, auditor
        expect(find('registry.propose', 'allow', `model:${model}@1`)).toHaveLength(1);
        expect(
          find('registry.approve', 'deny', `model:${model}@1`).map((e) => e.subject),
        ).toContain(eng.id);
        expect(find('registry.approve', 'allow', `model:${model}@1`).map((e) => e.subject)).toEqual(
          [admin.id],
        );
        expect(find('registry.deploy', 'allow')).toHaveLength(2);
        expect(find('registry.rollback', 'allow', `model:${model}@1`)).toHaveLength(1);
        expect(find('registry.retire', 'allow', `model:${model}@2`)).toHaveLength(1);
        expect(
          find('registry.blob_download', 'allow', `model:${model}@1`).length,
        ).toBeGreaterThanOrEqual(2);
        expect(find('registry.history', 'allow')).not.toHaveLength(0);
        expect(find('registry.lineage', 'allow')).not.toHaveLength(0);
        expect(find('registry.deployments', 'allow')).not.toHaveLength(0);
        for (const action of [
          'registry.reject',
          'registry.rollback',
          'registry.deploy',
          'registry.propose',
        ]) {
          expect(
            events.some(
              (e) => e.action === action && e.subject === auditor.id && e.decision === 'deny',
            ),
            action,
          ).toBe(true);
        }
        const verify = await call(f, reader, 'GET', '/v1/audit/verify');
        expect(verify.json()).toMatchObject({ ok: true });
      });

      // After the audit counts above: this model's deploy and retire are not among them.
      it('stops serving a model when its active version is retired', async () => {
        const solo = `${model}-solo`;
        const path = `/v1/registry/models/${solo}`;
        expect(
          (await propose(eng, { backend: 'llama-cpp', sha256: a2.sha256 }, solo)).statusCode,
        ).toBe(201);
        expect((await call(f, admin, 'POST', `${path}/versions/1/approve`)).statusCode).toBe(200);
        expect((await call(f, admin, 'POST', `${path}/deploy`, { version: 1 })).statusCode).toBe(
          200,
        );
        expect(await served(solo)).toBe(1);
        expect(await chatStatus(solo)).toBe(200);
        const retired = await call(f, admin, 'POST', `${path}/versions/1/retire`);
        expect(retired.json<VersionBody>().status).toBe('retired');
        expect(await served(solo)).toBeUndefined();
        expect(await chatStatus(solo)).toBe(404);
      });
    },
  );
}

describe('blob uploads over a real socket', () => {
  let f: Fixture;
  let eng: Caller;
  const limit = 4 * 1024 * 1024;

  beforeAll(async () => {
    // The JSON body limit stays at its 1 MiB default: uploads are bounded by maxBlobBytes only.
    f = await startApp({ listen: true, config: { registry: { maxBlobBytes: limit } } });
    eng = await caller(f, ['ml-engineer']);
  });
  afterAll(async () => {
    await f.close();
  });

  const upload = (sha256: string, bytes: Buffer) =>
    fetch(`${f.base}/v1/registry/blobs/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${eng.token}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });

  it('streams a body larger than server.bodyLimit into the store', async () => {
    const big = artifact(3 * 1024 * 1024);
    const res = await upload(big.sha256, big.bytes);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ sha256: big.sha256, size: big.bytes.length });
    expect(filesUnder(join(f.dir, 'blobs'))).toEqual([
      join(f.dir, 'blobs', big.sha256.slice(0, 2), big.sha256),
    ]);
  });

  it('answers 413 past registry.maxBlobBytes and keeps nothing', async () => {
    const before = filesUnder(join(f.dir, 'blobs'));
    const over = artifact(2 * limit);
    const res = await upload(over.sha256, over.bytes);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as ApiError).error.code).toBe('payload_too_large');
    expect(filesUnder(join(f.dir, 'blobs'))).toEqual(before);
  });

  it('keeps nothing of an upload whose client goes away mid-body', async () => {
    const before = filesUnder(join(f.dir, 'blobs'));
    const partial = artifact(200_000);
    const { hostname: host, port } = new URL(f.base);
    const socket = connect({ host, port: Number(port) });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `PUT /v1/registry/blobs/${partial.sha256} HTTP/1.1\r\nhost: ${host}\r\n` +
        `authorization: Bearer ${eng.token}\r\ncontent-type: application/octet-stream\r\n` +
        `content-length: ${String(partial.bytes.length)}\r\n\r\n`,
    );
    socket.write(partial.bytes.subarray(0, 50_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    // The temp file goes as soon as the server sees the request end; poll briefly for it.
    for (let i = 0; i < 50 && filesUnder(join(f.dir, 'blobs')).length !== before.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(filesUnder(join(f.dir, 'blobs'))).toEqual(before);
  });
});

describe('blob uploads on a nearly full disk', () => {
  let f: Fixture;
  let eng: Caller;

  beforeAll(async () => {
    // a floor no file system here can keep: every upload would eat into it
    f = await startApp({ listen: true, config: { registry: { minFreeBytes: 2 ** 52 } } });
    eng = await caller(f, ['ml-engineer']);
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers 507 insufficient_storage, names the floor and keeps nothing', async () => {
    const blob = artifact(100_000);
    const res = await fetch(`${f.base}/v1/registry/blobs/${blob.sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${eng.token}`, 'content-type': 'application/octet-stream' },
      body: blob.bytes,
    });
    expect(res.status).toBe(507);
    const body = (await res.json()) as ApiError;
    expect(body.error.code).toBe('insufficient_storage');
    expect(body.error.message).toBe(
      `Not enough free disk space for this upload: the server keeps ${String(2 ** 52)} bytes free`,
    );
    expect(filesUnder(join(f.dir, 'blobs'))).toEqual([]);
  });
});
