/**
 * @module store/backends/sqlite-registry.test — the registry on one SQLite file written by
 * several processes at once. In one process better-sqlite3 runs each transaction to the end
 * before anything else, so the conformance suite's races cannot interleave there; separate
 * processes can, and show that proposals, transitions and deploys take the write lock first
 * (BEGIN IMMEDIATE) — no duplicate numbers, no double winners, no SQLITE_BUSY mid-transaction.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { Actor, Store } from '../types.js';
import { openSqliteStore } from './sqlite.js';

const CHILDREN = 4;
const PROPOSALS = 40;
const T = 1_700_000_000_000;
const actor: Actor = { issuer: 'https://idp.example', subject: 'racer' };
const digest = createHash('sha256').update('race data').digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-registry-race-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/*
 * What each child runs once told to go: PROPOSALS proposals of one model (each first reading
 * the dataset it names, then writing), an approval attempt on every shared version, and a
 * deploy attempt of every deployable version. It prints one JSON line with what it won.
 */
const CHILD = `
const [, file, input] = process.argv;
const { openSqliteStore } = await import(${JSON.stringify(new URL('./sqlite.ts', import.meta.url).pathname)});
const job = JSON.parse(input);
const store = await openSqliteStore(file);
const out = { versions: [], approved: [], deployed: [], errors: [] };
const guard = async (fn) => { try { return await fn(); } catch (e) { out.errors.push(String(e.cause ?? e)); } };
console.log('READY');
await new Promise((go) => process.stdin.once('data', go));
for (let i = 0; i < job.proposals; i++) {
  const r = await guard(() => store.registry.proposeVersion({ ...job.proposal, metadata: { i } }, job.now));
  if (r?.ok) out.versions.push(r.record.version);
}
for (const id of job.approve) {
  const r = await guard(() => store.registry.transition(id, 'proposed', 'approved', job.actor, null, job.now));
  if (r?.ok) out.approved.push(id);
}
for (const id of job.deploy) {
  const r = await guard(() => store.registry.deploy(job.deployModel, id, job.actor, job.now));
  if (r?.ok) out.deployed.push(id);
}
await store.close();
console.log(JSON.stringify(out));
`;

interface ChildResult {
  versions: number[];
  approved: string[];
  deployed: string[];
  errors: string[];
}

/** Starts every child, waits until all are ready, releases them together, collects results. */
async function runChildren(file: string, jobs: object[]): Promise<ChildResult[]> {
  const children = jobs.map((job) =>
    spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, file, JSON.stringify(job)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    ),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  for (const l of lines) expect((await l.next()).value).toBe('READY');
  for (const c of children) c.stdin.write('go\n');
  return Promise.all(
    lines.map(async (l) => JSON.parse(String((await l.next()).value)) as ChildResult),
  );
}

describe('sqlite registry across processes', () => {
  it('keeps numbering, transitions and deploys atomic between processes on one file', async () => {
    const file = join(dir, 'race.db');
    const store: Store = await openSqliteStore(file);
    try {
      const reg = store.registry;
      expect(
        await reg.createDataset({ name: 'race-ds', owner: actor, labels: [], acl: [] }, T),
      ).not.toBe(false);
      await reg.addDatasetVersion({ dataset: 'race-ds', digest, size: 1, createdBy: actor }, T);
      const proposal = (model: string) => ({
        model,
        backend: 'echo',
        task: 'feature-extraction',
        artifactSha256: digest,
        artifactSize: 1,
        params: {},
        proposedBy: actor,
        datasets: [{ name: 'race-ds', digest }],
        metadata: {},
      });
      const ids = async (model: string, n: number, approve: boolean) => {
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const r = await reg.proposeVersion(proposal(model), T);
          if (!r.ok) throw new Error('proposal refused');
          if (approve) await reg.transition(r.record.id, 'proposed', 'approved', actor, null, T);
          out.push(r.record.id);
        }
        return out;
      };
      const toApprove = await ids('approve-model', 30, false);
      const toDeploy = await ids('deploy-model', 12, true);

      const results = await runChildren(
        file,
        Array.from({ length: CHILDREN }, (_, c) => ({
          proposals: PROPOSALS,
          proposal: proposal('numbered-model'),
          now: T + 1,
          actor: { ...actor, clientId: `child-${String(c)}` },
          // Each child walks the shared lists from a different place, to collide more.
          approve: [...toApprove.slice(c * 7), ...toApprove.slice(0, c * 7)],
          deploy: [...toDeploy.slice(c * 3), ...toDeploy.slice(0, c * 3)],
          deployModel: 'deploy-model',
        })),
      );

      expect(results.flatMap((r) => r.errors)).toEqual([]);
      const numbers = results.flatMap((r) => r.versions).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: CHILDREN * PROPOSALS }, (_, i) => i + 1));
      const listed = await reg.listVersions('numbered-model');
      expect(listed.map((v) => v.version)).toEqual(numbers);

      const approvals = results.flatMap((r) => r.approved).sort();
      expect(approvals).toEqual([...toApprove].sort());
      for (const id of toApprove) expect(await reg.history(id)).toHaveLength(2);

      // Deploys: one active version, and each deployment replaced the one before it.
      const deployments = await reg.deployments('deploy-model');
      expect(deployments).toHaveLength(results.flatMap((r) => r.deployed).length);
      expect(deployments[0]?.previousId).toBeNull();
      for (let i = 1; i < deployments.length; i++) {
        expect(deployments[i]?.previousId).toBe(deployments[i - 1]?.versionId);
      }
      const active = (await reg.listVersions('deploy-model')).filter((v) => v.status === 'active');
      expect(active.map((v) => v.id)).toEqual([deployments.at(-1)?.versionId]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
