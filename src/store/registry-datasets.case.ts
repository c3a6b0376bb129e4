/**
 * @module store/registry-datasets.case — the dataset and lineage half of the registry-store
 * conformance suite, registered by registryConformance (registry.case.ts).
 */
import { describe, expect, it } from 'vitest';
import { alice, bob, okOf, sha, T, uid, type RegistryHarness } from './registry-fixtures.case.js';
import type { DatasetRecord } from './types.js';

/** Registers the dataset and lineage tests on the harness's store. */
export function datasetCases(h: RegistryHarness): void {
  describe('datasets', () => {
    const newDataset = (over: Partial<DatasetRecord> = {}) => ({
      name: uid('ds'),
      owner: { issuer: 'https://idp.example', subject: 'carol' },
      labels: ['pii', 'confidential'],
      acl: [
        { principal: 'sub:carol', access: 'admin' as const },
        { principal: 'role:ml-engineer', access: 'read' as const },
      ],
      ...over,
    });

    it('creates a dataset at etag 1 and refuses a second with the same name', async () => {
      const input = newDataset();
      const created = await h.store().registry.createDataset(input, T);
      expect(created).toEqual({
        ...input,
        etag: 1,
        createdAt: T,
        updatedAt: T,
        deletedAt: null,
        deletedBy: null,
      });
      expect(await h.store().registry.createDataset({ ...input, labels: [] }, T + 1)).toBe(false);
      expect(await h.store().registry.getDataset(input.name)).toEqual(created);
      expect(await h.store().registry.listDatasets()).toContainEqual(created);
      expect(await h.store().registry.getDataset(uid('missing'))).toBeUndefined();
    });

    it('lists datasets by name in byte order', async () => {
      const p = uid('list');
      for (const n of [`${p}-b`, `${p}-B`, `${p}-a`]) {
        await h.store().registry.createDataset(newDataset({ name: n }), T);
      }
      const mine = (await h.store().registry.listDatasets()).filter((d) => d.name.startsWith(p));
      expect(mine.map((d) => d.name)).toEqual([`${p}-B`, `${p}-a`, `${p}-b`]);
    });

    it('changes labels and access list only at the current etag', async () => {
      const input = newDataset();
      await h.store().registry.createDataset(input, T);
      const labelled = okOf(
        await h.store().registry.updateDataset(input.name, 1, { labels: ['public'] }, T + 1),
      );
      expect(labelled.record).toMatchObject({
        labels: ['public'],
        acl: input.acl,
        etag: 2,
        updatedAt: T + 1,
      });
      const acl = [{ principal: 'client:svc-1', access: 'write' as const }];
      const granted = okOf(await h.store().registry.updateDataset(input.name, 2, { acl }, T + 2));
      expect(granted.record).toMatchObject({ labels: ['public'], acl, etag: 3, createdAt: T });

      expect(
        await h.store().registry.updateDataset(input.name, 2, { labels: ['pii'] }, T + 3),
      ).toEqual({
        ok: false,
        reason: 'stale',
        etag: 3,
      });
      expect(await h.store().registry.getDataset(input.name)).toEqual(granted.record);
      expect(await h.store().registry.updateDataset(uid('missing'), 1, { labels: [] }, T)).toEqual({
        ok: false,
        reason: 'missing',
      });
    });

    it('lets exactly one of concurrent edits at one etag win', async () => {
      const input = newDataset();
      await h.store().registry.createDataset(input, T);
      const results = await h.race(6, (s, i) =>
        s.registry.updateDataset(input.name, 1, { labels: [`l${String(i)}`] }, T + 1),
      );
      const won = results.filter((r) => r.ok);
      expect(won).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array.from({ length: 5 }, () => ({ ok: false, reason: 'stale', etag: 2 })),
      );
      expect(await h.store().registry.getDataset(input.name)).toEqual(
        okOf(won[0] ?? { ok: false }).record,
      );
    });

    it('hides a soft-deleted dataset unless asked, and keeps its name taken', async () => {
      const input = newDataset();
      await h.store().registry.createDataset(input, T);
      await h
        .store()
        .registry.addDatasetVersion(
          { dataset: input.name, digest: sha('v1'), size: 1, createdBy: bob },
          T,
        );
      expect(await h.store().registry.softDelete(input.name, 5, alice, T + 1)).toEqual({
        ok: false,
        reason: 'stale',
        etag: 1,
      });
      const deleted = okOf(await h.store().registry.softDelete(input.name, 1, alice, T + 2)).record;
      expect(deleted).toMatchObject({
        deletedAt: T + 2,
        deletedBy: alice,
        etag: 2,
        updatedAt: T + 2,
      });
      expect(await h.store().registry.getDataset(input.name)).toBeUndefined();
      expect(await h.store().registry.getDataset(input.name, { includeDeleted: true })).toEqual(
        deleted,
      );
      expect((await h.store().registry.listDatasets()).map((d) => d.name)).not.toContain(
        input.name,
      );
      expect(await h.store().registry.createDataset(input, T + 3)).toBe(false);
      expect(await h.store().registry.softDelete(input.name, undefined, alice, T + 3)).toEqual({
        ok: false,
        reason: 'missing',
      });
      expect(await h.store().registry.updateDataset(input.name, 2, { labels: [] }, T + 3)).toEqual({
        ok: false,
        reason: 'missing',
      });
      expect(
        await h
          .store()
          .registry.addDatasetVersion(
            { dataset: input.name, digest: sha('v2'), size: 1, createdBy: bob },
            T,
          ),
      ).toEqual({ ok: false, reason: 'missing' });
      // Its content stays listed until purged.
      expect(
        (await h.store().registry.listDatasetVersions(input.name)).map((v) => v.digest),
      ).toEqual([sha('v1')]);
      expect(await h.store().registry.getDataset(input.name, { includeDeleted: true })).toEqual(
        deleted,
      );
    });

    it('adds immutable versions in order; the same digest again returns the first', async () => {
      const input = newDataset();
      await h.store().registry.createDataset(input, T);
      const digests = [sha('c'), sha('a'), sha('b')];
      const added = [];
      for (const [i, digest] of digests.entries()) {
        const r = okOf(
          await h
            .store()
            .registry.addDatasetVersion(
              { dataset: input.name, digest, size: 2 ** 40 + i, createdBy: bob },
              T + i,
            ),
        );
        expect(r.created).toBe(true);
        added.push(r.record);
      }
      expect(added[0]).toEqual({
        dataset: input.name,
        digest: sha('c'),
        size: 2 ** 40,
        createdBy: bob,
        createdAt: T,
      });
      const again = okOf(
        await h
          .store()
          .registry.addDatasetVersion(
            { dataset: input.name, digest: sha('c'), size: 1, createdBy: alice },
            T + 99,
          ),
      );
      expect(again).toEqual({ ok: true, created: false, record: added[0] });
      expect(await h.store().registry.listDatasetVersions(input.name)).toEqual(added);
      expect(await h.store().registry.getDatasetVersion(input.name, sha('a'))).toEqual(added[1]);
      expect(await h.store().registry.getDatasetVersion(input.name, sha('zz'))).toBeUndefined();
      expect(await h.store().registry.getDatasetVersion(uid('missing'), sha('a'))).toBeUndefined();
      expect(await h.store().registry.listDatasetVersions(uid('missing'))).toEqual([]);
      expect(
        await h
          .store()
          .registry.addDatasetVersion(
            { dataset: uid('missing'), digest: sha('a'), size: 1, createdBy: bob },
            T,
          ),
      ).toEqual({ ok: false, reason: 'missing' });
    });

    it('creates a version once under concurrent uploads of one digest', async () => {
      const input = newDataset();
      await h.store().registry.createDataset(input, T);
      const results = await h.race(6, (s, i) =>
        s.registry.addDatasetVersion(
          { dataset: input.name, digest: sha('same'), size: 7, createdBy: bob },
          T + i,
        ),
      );
      const records = results.map((r) => okOf(r));
      expect(records.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(records.map((r) => JSON.stringify(r.record))).size).toBe(1);
      expect(await h.store().registry.listDatasetVersions(input.name)).toHaveLength(1);
    });

    it('purges datasets soft-deleted before a time, keeping lineage', async () => {
      const { name, digest } = await h.aDataset();
      const other = await h.aDataset();
      const v = await h.propose(uid('model'), { datasets: [{ name, digest }] });
      okOf(await h.store().registry.softDelete(name, undefined, alice, T + 100));
      const mine = (list: { name: string }[]) =>
        list.filter((p) => p.name === name || p.name === other.name);
      expect(mine(await h.store().registry.purgeDeleted(T + 100))).toEqual([]);
      expect(mine(await h.store().registry.purgeDeleted(T + 101))).toEqual([
        { name, digests: [digest] },
      ]);
      expect(mine(await h.store().registry.purgeDeleted(T + 101))).toEqual([]);
      expect(await h.store().registry.getDataset(name, { includeDeleted: true })).toBeUndefined();
      expect(await h.store().registry.listDatasetVersions(name)).toEqual([]);
      expect(await h.store().registry.getDataset(other.name)).toBeDefined();
      expect((await h.store().registry.modelsTrainedOn(name, digest)).map((m) => m.id)).toEqual([
        v.id,
      ]);
      expect(await h.store().registry.datasetsOf(v.id)).toEqual([{ name, digest }]);
      // The name is free again.
      expect(
        await h.store().registry.createDataset({ name, owner: bob, labels: [], acl: [] }, T + 200),
      ).not.toBe(false);
    });
  });

  describe('digests in use', () => {
    it('counts model artifacts and versions of datasets not yet purged, soft-deleted too', async () => {
      const free = sha(uid('free'));
      expect(await h.store().registry.digestInUse(free)).toBe(false);
      const artifact = sha(uid('artifact'));
      await h.propose(uid('model'), { artifactSha256: artifact });
      expect(await h.store().registry.digestInUse(artifact)).toBe(true);
      const { name, digest } = await h.aDataset();
      expect(await h.store().registry.digestInUse(digest)).toBe(true);
      okOf(await h.store().registry.softDelete(name, undefined, alice, T + 10));
      expect(await h.store().registry.digestInUse(digest)).toBe(true);
      await h.store().registry.purgeDeleted(T + 11);
      expect(await h.store().registry.digestInUse(digest)).toBe(false);
      expect(await h.store().registry.digestInUse(artifact)).toBe(true);
    });
  });

  describe('lineage', () => {
    it('answers both ways: what a version was trained on, and what was trained on a dataset', async () => {
      const d1 = await h.aDataset(['pii']);
      const d2 = await h.aDataset();
      const m1 = uid('model-b');
      const m2 = uid('model-a');
      const v1 = await h.propose(m1, { datasets: [d1, d2, d1] });
      const v2 = await h.propose(m2, { datasets: [d1] });
      const v3 = await h.propose(m1, { datasets: [d1] });
      const none = await h.propose(m1);
      expect(v1.datasets).toEqual([d1, d2]);
      const byName = [d1, d2].sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(await h.store().registry.datasetsOf(v1.id)).toEqual(byName);
      expect(await h.store().registry.datasetsOf(none.id)).toEqual([]);
      expect(
        (await h.store().registry.modelsTrainedOn(d1.name, d1.digest)).map((v) => v.id),
      ).toEqual([v2, v1, v3].map((v) => v.id));
      expect(await h.store().registry.modelsTrainedOn(d2.name, d2.digest)).toEqual([v1]);
      expect(await h.store().registry.modelsTrainedOn(d2.name, d1.digest)).toEqual([]);
      expect(await h.store().registry.modelsTrainedOn(uid('missing'), d1.digest)).toEqual([]);
    });
  });
}
