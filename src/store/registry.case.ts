/**
 * @module store/registry.case — the registry-store conformance suite every backend must pass,
 * run by each backend's test file. Tests share one database, so each makes its own model and
 * dataset names; the race tests split their calls across two connections. Dataset and lineage
 * cases live in registry-datasets.case.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import { datasetCases } from './registry-datasets.case.js';
import { alice, bob, okOf, proposal, sha, T, uid } from './registry-fixtures.case.js';
import type {
  DeployResult,
  ModelVersionRecord,
  ProposedVersion,
  Store,
  TransitionResult,
} from './types.js';

/**
 * Registers the registry tests for one backend. `open` must return a new connection to one and
 * the same database each time it is called.
 */
export function registryConformance(name: string, open: () => Promise<Store>): void {
  describe(`${name} registry store`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    /** Runs `n` calls split across two connections, all started before any is awaited. */
    async function race<T>(n: number, call: (s: Store, i: number) => Promise<T>): Promise<T[]> {
      const other = await open();
      try {
        return await Promise.all(
          Array.from({ length: n }, (_, i) => call(i % 2 === 0 ? store : other, i)),
        );
      } finally {
        await other.close();
      }
    }

    const propose = async (model: string, over: Partial<ProposedVersion> = {}, at = T) =>
      okOf(await store.registry.proposeVersion(proposal(model, over), at)).record;

    /** A version of `model` moved to `approved`. */
    const approved = async (model: string, at = T): Promise<ModelVersionRecord> => {
      const v = await propose(model, {}, at);
      return okOf(await store.registry.transition(v.id, 'proposed', 'approved', bob, 'ok', at))
        .record;
    };

    /** A dataset with one version, returning its name and digest. */
    const aDataset = async (labels: string[] = ['public']) => {
      const ds = uid('ds');
      const digest = sha(ds);
      const created = await store.registry.createDataset(
        { name: ds, owner: bob, labels, acl: [{ principal: 'role:ml-engineer', access: 'read' }] },
        T,
      );
      expect(created).not.toBe(false);
      const added = await store.registry.addDatasetVersion(
        { dataset: ds, digest, size: 10, createdBy: bob },
        T,
      );
      expect(added.ok).toBe(true);
      return { name: ds, digest };
    };

    describe('model versions', () => {
      it('proposes versions numbered 1, 2, … per model, each with a creation transition', async () => {
        const model = uid('model');
        const first = await propose(model, {}, T + 1);
        expect(first).toEqual({
          ...proposal(model),
          id: first.id,
          version: 1,
          status: 'proposed',
          createdAt: T + 1,
          updatedAt: T + 1,
        });
        expect(first.id).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        const second = await propose(model, { id: uid('given-id'), proposedBy: bob }, T + 2);
        expect(second.version).toBe(2);
        expect((await propose(uid('other-model'))).version).toBe(1);

        expect(await store.registry.getVersion(first.id)).toEqual(first);
        expect(await store.registry.getVersion(second.id)).toEqual(second);
        expect(await store.registry.listVersions(model)).toEqual([first, second]);
        expect(await store.registry.listModels()).toContain(model);
        expect(await store.registry.history(second.id)).toEqual([
          { versionId: second.id, from: null, to: 'proposed', actor: bob, reason: null, at: T + 2 },
        ]);
      });

      it('keeps params, metadata and actors exactly (unicode, nesting, numbers)', async () => {
        const metadata = {
          card: 'Modèle 🧪 — “quoted” \u2028 line\nbreak \\ back',
          metrics: { f1: 0.9375, nested: { deep: [1, 'two', { three: null }] } },
          empty: {},
          list: [],
          flag: false,
        };
        const v = await propose(uid('model'), {
          metadata,
          params: { ключ: 'значение', n: -1.5e-7 },
          proposedBy: { issuer: 'https://ïdp.example/ä', subject: 'sub with spaces' },
        });
        const read = await store.registry.getVersion(v.id);
        expect(read?.metadata).toEqual(metadata);
        expect(read?.params).toEqual({ ключ: 'значение', n: -1.5e-7 });
        expect(read?.proposedBy).toEqual({
          issuer: 'https://ïdp.example/ä',
          subject: 'sub with spaces',
        });
        expect(read).toEqual(v);
      });

      it('answers unknown ids and models with undefined or empty lists', async () => {
        const id = uid('missing');
        expect(await store.registry.getVersion(id)).toBeUndefined();
        expect(await store.registry.listVersions(id)).toEqual([]);
        expect(await store.registry.history(id)).toEqual([]);
        expect(await store.registry.activeVersion(id)).toBeUndefined();
        expect(await store.registry.deployments(id)).toEqual([]);
        expect(await store.registry.datasetsOf(id)).toBeUndefined();
        expect(await store.registry.listModels()).not.toContain(id);
        expect(await store.registry.transition(id, 'proposed', 'approved', bob, null, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
      });

      it('numbers 20 concurrent proposals of one model 1..20 with no duplicates', async () => {
        const model = uid('model');
        const results = await race(20, (s, i) =>
          s.registry.proposeVersion(proposal(model, { metadata: { i } }), T + i),
        );
        const numbers = results.map((r) => okOf(r).record.version).sort((a, b) => a - b);
        expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        const listed = await store.registry.listVersions(model);
        expect(listed.map((v) => v.version)).toEqual(numbers);
        expect(new Set(listed.map((v) => v.id)).size).toBe(20);
      });

      it('refuses a proposal naming an unknown or deleted dataset version, writing nothing', async () => {
        const model = uid('model');
        const known = await aDataset();
        const unknown = { name: known.name, digest: sha('not uploaded') };
        expect(
          await store.registry.proposeVersion(proposal(model, { datasets: [known, unknown] }), T),
        ).toEqual({ ok: false, reason: 'missing-dataset', dataset: unknown });
        expect(await store.registry.listVersions(model)).toEqual([]);
        expect(await store.registry.listModels()).not.toContain(model);
        expect(await store.registry.modelsTrainedOn(known.name, known.digest)).toEqual([]);

        const gone = await aDataset();
        okOf(await store.registry.softDelete(gone.name, undefined, bob, T));
        expect(
          await store.registry.proposeVersion(proposal(model, { datasets: [gone] }), T),
        ).toEqual({ ok: false, reason: 'missing-dataset', dataset: gone });
        // A refused proposal used no version number.
        expect((await propose(model)).version).toBe(1);
      });

      it('rejects a duplicate id with a StoreError that quotes no SQL, keeping the first', async () => {
        const first = await propose(uid('model'));
        const err: unknown = await store.registry
          .proposeVersion(proposal(uid('model'), { id: first.id }), T)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).message).not.toMatch(/insert|unique|constraint|registry_/i);
        expect(await store.registry.getVersion(first.id)).toEqual(first);
      });
    });

    describe('transitions', () => {
      it('moves a version along its graph and records every step in order', async () => {
        const v = await propose(uid('model'));
        const a = okOf(
          await store.registry.transition(v.id, 'proposed', 'approved', bob, 'lgtm', T + 5),
        );
        expect(a.record).toEqual({ ...v, status: 'approved', updatedAt: T + 5 });
        const r = okOf(
          await store.registry.transition(v.id, 'approved', 'retired', alice, null, T + 9),
        );
        expect(r.record.status).toBe('retired');
        expect(await store.registry.getVersion(v.id)).toEqual(r.record);
        expect(await store.registry.history(v.id)).toEqual([
          { versionId: v.id, from: null, to: 'proposed', actor: alice, reason: null, at: T },
          {
            versionId: v.id,
            from: 'proposed',
            to: 'approved',
            actor: bob,
            reason: 'lgtm',
            at: T + 5,
          },
          {
            versionId: v.id,
            from: 'approved',
            to: 'retired',
            actor: alice,
            reason: null,
            at: T + 9,
          },
        ]);
      });

      it('writes nothing for a stale `from` or an edge not in the graph', async () => {
        const v = await propose(uid('model'));
        const before = await store.registry.history(v.id);
        const conflict = { ok: false, reason: 'conflict', versionId: v.id, current: 'proposed' };
        expect(
          await store.registry.transition(v.id, 'approved', 'retired', bob, null, T + 1),
        ).toEqual(conflict);
        // `active` is reached only by deploy; `proposed` is never re-entered.
        expect(
          await store.registry.transition(v.id, 'proposed', 'active', bob, null, T + 1),
        ).toEqual(conflict);
        expect(
          await store.registry.transition(v.id, 'proposed', 'proposed', bob, null, T + 1),
        ).toEqual(conflict);
        okOf(await store.registry.transition(v.id, 'proposed', 'rejected', bob, 'no', T + 2));
        expect(
          await store.registry.transition(v.id, 'rejected', 'approved', bob, null, T + 3),
        ).toEqual({ ok: false, reason: 'conflict', versionId: v.id, current: 'rejected' });
        expect(await store.registry.getVersion(v.id)).toEqual({
          ...v,
          status: 'rejected',
          updatedAt: T + 2,
        });
        expect(await store.registry.history(v.id)).toHaveLength(before.length + 1);
      });

      it('lets exactly one of two concurrent transitions from one status win', async () => {
        for (let round = 0; round < 5; round++) {
          const v = await propose(uid('model'));
          const results = await race(2, (s, i) =>
            s.registry.transition(
              v.id,
              'proposed',
              i === 0 ? 'approved' : 'rejected',
              bob,
              null,
              T + 1,
            ),
          );
          const winners = results.filter((r) => r.ok);
          expect(winners).toHaveLength(1);
          const won = okOf(winners[0] ?? { ok: false }).record.status;
          expect(results.find((r) => !r.ok)).toEqual({
            ok: false,
            reason: 'conflict',
            versionId: v.id,
            current: won,
          });
          expect((await store.registry.getVersion(v.id))?.status).toBe(won);
          expect((await store.registry.history(v.id)).map((h) => h.to)).toEqual(['proposed', won]);
        }
      });
    });

    describe('deploy and rollback', () => {
      it('deploys an approved version, moving the active one back to approved', async () => {
        const model = uid('model');
        const v1 = await approved(model);
        const v2 = await approved(model);
        const first = okOf(await store.registry.deploy(model, v1.id, alice, T + 10));
        expect(first.previous).toBeUndefined();
        expect(first.current).toEqual({ ...v1, status: 'active', updatedAt: T + 10 });
        expect(first.deployment).toEqual({
          model,
          versionId: v1.id,
          previousId: null,
          kind: 'deploy',
          actor: alice,
          at: T + 10,
        });
        expect(await store.registry.activeVersion(model)).toEqual(first.current);

        const second = okOf(await store.registry.deploy(model, v2.id, bob, T + 20));
        expect(second.previous).toEqual({ ...v1, status: 'approved', updatedAt: T + 20 });
        expect(second.current.id).toBe(v2.id);
        expect(await store.registry.activeVersion(model)).toEqual(second.current);
        expect(await store.registry.getVersion(v1.id)).toEqual(second.previous);
        expect(await store.registry.deployments(model)).toEqual([
          first.deployment,
          second.deployment,
        ]);
        expect((await store.registry.history(v1.id)).slice(-2)).toEqual([
          {
            versionId: v1.id,
            from: 'approved',
            to: 'active',
            actor: alice,
            reason: 'deploy',
            at: T + 10,
          },
          {
            versionId: v1.id,
            from: 'active',
            to: 'approved',
            actor: bob,
            reason: 'deploy',
            at: T + 20,
          },
        ]);
      });

      it('refuses to deploy anything but an approved version of that model', async () => {
        const model = uid('model');
        const proposed = await propose(model);
        const elsewhere = await approved(uid('model'));
        const v = await approved(model);
        expect(await store.registry.deploy(model, proposed.id, alice, T)).toEqual({
          ok: false,
          reason: 'conflict',
          versionId: proposed.id,
          current: 'proposed',
        });
        expect(await store.registry.deploy(model, elsewhere.id, alice, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
        expect(await store.registry.deploy(model, uid('missing'), alice, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
        expect(await store.registry.deploy(uid('missing'), v.id, alice, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
        okOf(await store.registry.deploy(model, v.id, alice, T));
        expect(await store.registry.deploy(model, v.id, alice, T + 1)).toEqual({
          ok: false,
          reason: 'conflict',
          versionId: v.id,
          current: 'active',
        });
        expect(await store.registry.deployments(model)).toHaveLength(1);
        expect(await store.registry.activeVersion(uid('missing'))).toBeUndefined();
      });

      it('rolls back to the version the last deployment replaced, and back again', async () => {
        const model = uid('model');
        const v1 = await approved(model);
        const v2 = await approved(model);
        expect(await store.registry.rollback(model, bob, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
        expect(await store.registry.rollback(uid('missing'), bob, T)).toEqual({
          ok: false,
          reason: 'missing',
        });
        okOf(await store.registry.deploy(model, v1.id, alice, T + 1));
        // The first deployment replaced nothing: nothing to roll back to.
        expect(await store.registry.rollback(model, bob, T + 2)).toEqual({
          ok: false,
          reason: 'missing',
        });
        okOf(await store.registry.deploy(model, v2.id, alice, T + 3));

        const back = okOf(await store.registry.rollback(model, bob, T + 4));
        expect(back.current.id).toBe(v1.id);
        expect(back.previous?.id).toBe(v2.id);
        expect(back.previous?.status).toBe('approved');
        expect(back.deployment).toEqual({
          model,
          versionId: v1.id,
          previousId: v2.id,
          kind: 'rollback',
          actor: bob,
          at: T + 4,
        });
        expect((await store.registry.activeVersion(model))?.id).toBe(v1.id);
        const again = okOf(await store.registry.rollback(model, bob, T + 5));
        expect([again.current.id, again.previous?.id]).toEqual([v2.id, v1.id]);
        expect((await store.registry.deployments(model)).map((d) => d.kind)).toEqual([
          'deploy',
          'deploy',
          'rollback',
          'rollback',
        ]);
      });

      it('refuses a rollback to a retired version and changes nothing', async () => {
        const model = uid('model');
        const v1 = await approved(model);
        const v2 = await approved(model);
        okOf(await store.registry.deploy(model, v1.id, alice, T + 1));
        okOf(await store.registry.deploy(model, v2.id, alice, T + 2));
        okOf(await store.registry.transition(v1.id, 'approved', 'retired', alice, 'old', T + 3));
        expect(await store.registry.rollback(model, bob, T + 4)).toEqual({
          ok: false,
          reason: 'conflict',
          versionId: v1.id,
          current: 'retired',
        });
        expect(await store.registry.activeVersion(model)).toEqual({
          ...v2,
          status: 'active',
          updatedAt: T + 2,
        });
        expect(await store.registry.deployments(model)).toHaveLength(2);
        expect((await store.registry.history(v2.id)).at(-1)?.to).toBe('active');
      });

      it('serialises two concurrent deploys: one active version, each previous recorded', async () => {
        for (let round = 0; round < 5; round++) {
          const model = uid('model');
          const v0 = await approved(model);
          okOf(await store.registry.deploy(model, v0.id, alice, T));
          const [a, b] = [await approved(model), await approved(model)];
          const results = await race(2, (s, i) =>
            s.registry.deploy(model, i === 0 ? a.id : b.id, alice, T + 1),
          );
          const [ra, rb] = results.map((r) => okOf(r)) as [
            Extract<DeployResult, { ok: true }>,
            Extract<DeployResult, { ok: true }>,
          ];
          const deployments = await store.registry.deployments(model);
          expect(deployments).toHaveLength(3);
          const [firstId, lastId] = [deployments[1]?.versionId, deployments[2]?.versionId];
          expect(new Set([firstId, lastId])).toEqual(new Set([a.id, b.id]));
          // The first to commit replaced v0; the second replaced the first.
          expect(deployments[1]?.previousId).toBe(v0.id);
          expect(deployments[2]?.previousId).toBe(firstId);
          const byId = new Map([ra, rb].map((r) => [r.current.id, r]));
          expect(byId.get(firstId ?? '')?.previous?.id).toBe(v0.id);
          expect(byId.get(lastId ?? '')?.previous?.id).toBe(firstId);
          const statuses = (await store.registry.listVersions(model)).map((v) => [v.id, v.status]);
          expect(statuses.filter(([, s]) => s === 'active')).toEqual([[lastId, 'active']]);
          expect((await store.registry.activeVersion(model))?.id).toBe(lastId);
        }
      });

      it('never half-applies a deploy that races a retirement of its version', async () => {
        for (let round = 0; round < 5; round++) {
          const model = uid('model');
          const v0 = await approved(model);
          okOf(await store.registry.deploy(model, v0.id, alice, T));
          const v1 = await approved(model);
          const [deployed, retired] = await race<DeployResult | TransitionResult>(2, (s, i) =>
            i === 0
              ? s.registry.deploy(model, v1.id, alice, T + 1)
              : s.registry.transition(v1.id, 'approved', 'retired', bob, null, T + 1),
          );
          expect([deployed?.ok, retired?.ok].filter(Boolean)).toHaveLength(1);
          const active = await store.registry.activeVersion(model);
          if (deployed?.ok === true) {
            expect(retired).toEqual({
              ok: false,
              reason: 'conflict',
              versionId: v1.id,
              current: 'active',
            });
            expect(active?.id).toBe(v1.id);
            expect((await store.registry.getVersion(v0.id))?.status).toBe('approved');
          } else {
            expect(deployed).toEqual({
              ok: false,
              reason: 'conflict',
              versionId: v1.id,
              current: 'retired',
            });
            expect(active?.id).toBe(v0.id);
            expect(await store.registry.deployments(model)).toHaveLength(1);
            expect((await store.registry.history(v0.id)).at(-1)?.to).toBe('active');
          }
        }
      });
    });

    datasetCases({ store: () => store, race, propose, aDataset });
  });
}
