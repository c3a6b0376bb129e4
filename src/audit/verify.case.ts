/**
 * @module audit/verify.case — tampering of each kind, done with plain SQL on a real store the way
 * someone with database access would, must make `verify` name the first damaged event. Run by
 * each store backend's verify test; every test gets a store of its own (verify reads all chains).
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { eventText, linkHash } from './chain.js';
import { aSigningKey, anEvent } from './fixtures.js';
import { verifyAudit, type AuditProblemKind } from './verify.js';
import { createAuditLog } from './writer.js';

/** A store of its own and raw SQL on its tables. */
export interface TamperTarget {
  store: Store;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const CHAIN = 'replica-1';
const q = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const where = (seq: number): string => `chain = ${q(CHAIN)} AND seq = ${String(seq)}`;

/** Writes `count` events with a checkpoint every 5, and returns the key's JWKS. */
async function fill(store: Store, count = 20, chain = CHAIN) {
  const key = await aSigningKey();
  const log = createAuditLog({
    store: store.audit,
    chain,
    sign: key.sign,
    issuer: 'http://gatehouse.test',
    clock: () => 1_764_600_000_000,
    checkpointEvery: 5,
    checkpointIntervalMs: 3_600_000,
  });
  for (let i = 1; i <= count; i++) await log.record(anEvent({ subject: `user-${String(i)}` }));
  await log.close();
  return key;
}

/** SQL inserting a well-formed event at `seq` that links to `linkTo`, and its hash. */
function forgedRow(seq: number, linkTo: string): { sql: string; hash: string } {
  const e = anEvent({ subject: 'mallory' });
  const text = eventText(e, CHAIN, seq);
  const hash = linkHash(text, linkTo);
  const sql = `INSERT INTO audit_events (chain, seq, time, subject, client_id, action, resource, decision, status, hash, prev_hash, event)
    VALUES (${q(CHAIN)}, ${String(seq)}, ${String(e.time)}, 'mallory', ${q(e.clientId ?? '')}, ${q(e.action)},
      ${q(e.resource ?? '')}, ${q(e.decision)}, ${String(e.status)}, ${q(hash)}, ${q(linkTo)}, ${q(text)})`;
  return { sql, hash };
}
const forged = (seq: number, linkTo: string): string => forgedRow(seq, linkTo).sql;

/** Moves rows with seq >= `from` by `by` (two steps: the primary key is checked per row). */
const shift = (from: number, by: number): string[] => [
  `UPDATE audit_events SET seq = -seq WHERE chain = ${q(CHAIN)} AND seq >= ${String(from)}`,
  `UPDATE audit_events SET seq = -seq + (${String(by)}) WHERE chain = ${q(CHAIN)} AND seq < 0`,
];

export function verifyTamperCases(name: string, fresh: () => Promise<TamperTarget>): void {
  describe(`audit verify on ${name}`, () => {
    /** Fills a fresh store, applies `sql`, verifies with page size 4 (pages cross the damage). */
    async function tampered(sql: (s: Store) => Promise<string[]> | string[], count = 20) {
      const t = await fresh();
      try {
        const key = await fill(t.store, count);
        for (const stmt of await sql(t.store)) await t.exec(stmt);
        return await verifyAudit(t.store.audit, key.jwks, { pageSize: 4 });
      } finally {
        await t.close();
      }
    }
    const hashAt = async (s: Store, seq: number): Promise<string> =>
      (await s.audit.events(CHAIN, seq - 1, 1))[0]?.hash ?? '';

    function expectProblem(
      report: Awaited<ReturnType<typeof verifyAudit>>,
      kind: AuditProblemKind,
      seq: number,
    ) {
      expect(report.ok).toBe(false);
      if (report.ok) return;
      expect({
        chain: report.problem.chain,
        seq: report.problem.seq,
        kind: report.problem.kind,
      }).toEqual({
        chain: CHAIN,
        seq,
        kind,
      });
      expect(report.problem.message).toMatch(new RegExp(`\\b${String(seq)}\\b`));
    }

    it('passes an untouched store and reports each chain', async () => {
      const t = await fresh();
      try {
        const key = await fill(t.store, 22);
        const other = await fill(t.store, 3, 'replica-2');
        const report = await verifyAudit(
          t.store.audit,
          { keys: [...key.jwks.keys, ...other.jwks.keys] },
          { pageSize: 4 },
        );
        expect(report).toEqual({
          ok: true,
          chains: [
            {
              chain: CHAIN,
              events: 22,
              headSeq: 22,
              checkpoints: 5,
              lastCheckpointSeq: 22,
              purgedThrough: 0,
            },
            {
              chain: 'replica-2',
              events: 3,
              headSeq: 3,
              checkpoints: 1,
              lastCheckpointSeq: 3,
              purgedThrough: 0,
            },
          ],
        });
      } finally {
        await t.close();
      }
    });

    it('catches an altered event', async () => {
      const report = await tampered(() => [
        `UPDATE audit_events SET event = REPLACE(event, 'user-7', 'user-9') WHERE ${where(7)}`,
      ]);
      expectProblem(report, 'altered', 7);
      // A field no column copies: only the hash gives it away.
      const reason = await tampered(() => [
        `UPDATE audit_events SET event = REPLACE(event, 'allowed: role', 'denied: role') WHERE ${where(7)}`,
      ]);
      expectProblem(reason, 'altered', 7);
    });

    it('catches an altered indexed column', async () => {
      expectProblem(
        await tampered(() => [`UPDATE audit_events SET subject = 'bob' WHERE ${where(7)}`]),
        'altered',
        7,
      );
      expectProblem(
        await tampered(() => [`UPDATE audit_events SET status = 403 WHERE ${where(3)}`]),
        'altered',
        3,
      );
    });

    it('catches a rewrite that rehashed the event, at the next event', async () => {
      const report = await tampered(async (s) => {
        const e = anEvent({ subject: 'user-7', reason: 'rewritten' });
        const text = eventText(e, CHAIN, 7);
        const hash = linkHash(text, await hashAt(s, 6));
        return [`UPDATE audit_events SET event = ${q(text)}, hash = ${q(hash)} WHERE ${where(7)}`];
      });
      expectProblem(report, 'altered', 8);
    });

    it('catches a rewrite that rehashed the whole rest of the chain, at the next checkpoint', async () => {
      const report = await tampered(async (s) => {
        const rows = await s.audit.events(CHAIN, 6, 100);
        let prev = await hashAt(s, 6);
        const out: string[] = [];
        for (const r of rows) {
          const e = anEvent({ subject: r.subject, reason: r.seq === 7 ? 'rewritten' : 'same' });
          const text = eventText(e, CHAIN, r.seq);
          const hash = linkHash(text, prev);
          out.push(
            `UPDATE audit_events SET event = ${q(text)}, hash = ${q(hash)}, prev_hash = ${q(prev)}, time = ${String(e.time)} WHERE ${where(r.seq)}`,
          );
          prev = hash;
        }
        out.push(`UPDATE audit_chains SET head_hash = ${q(prev)} WHERE chain = ${q(CHAIN)}`);
        return out;
      });
      expectProblem(report, 'bad-checkpoint', 10);
    });

    it('catches a deleted event', async () => {
      expectProblem(
        await tampered(() => [`DELETE FROM audit_events WHERE ${where(7)}`]),
        'deleted',
        7,
      );
    });

    it('catches a deleted event whose successors were renumbered', async () => {
      const report = await tampered(() => [
        `DELETE FROM audit_events WHERE ${where(7)}`,
        ...shift(8, -1),
        `UPDATE audit_chains SET head_seq = 19 WHERE chain = ${q(CHAIN)}`,
      ]);
      expectProblem(report, 'deleted', 7);
    });

    it('catches a deleted tail that a checkpoint covers, even with the head row rewound', async () => {
      const report = await tampered(async (s) => [
        `DELETE FROM audit_events WHERE chain = ${q(CHAIN)} AND seq > 17`,
        `UPDATE audit_chains SET head_seq = 17, head_hash = ${q(await hashAt(s, 17))} WHERE chain = ${q(CHAIN)}`,
      ]);
      expectProblem(report, 'deleted', 18);
    });

    it('catches a deleted tail by the final checkpoint written on close', async () => {
      const report = await tampered(
        () => [`DELETE FROM audit_events WHERE chain = ${q(CHAIN)} AND seq > 21`],
        23,
      );
      expectProblem(report, 'deleted', 22);
    });

    it('catches an inserted event that links correctly', async () => {
      const report = await tampered(async (s) => [...shift(7, 1), forged(7, await hashAt(s, 6))]);
      expectProblem(report, 'inserted', 7);
    });

    it('catches an inserted event that does not link', async () => {
      const report = await tampered(() => [...shift(7, 1), forged(7, 'ab'.repeat(32))]);
      expectProblem(report, 'inserted', 7);
    });

    it('catches reordered events', async () => {
      const report = await tampered(() => [
        `UPDATE audit_events SET seq = -1 WHERE ${where(7)}`,
        `UPDATE audit_events SET seq = 7 WHERE ${where(8)}`,
        `UPDATE audit_events SET seq = 8 WHERE ${where(-1)}`,
      ]);
      expectProblem(report, 'reordered', 7);
    });

    it('catches events moved far apart', async () => {
      const report = await tampered(() => [
        `UPDATE audit_events SET seq = -1 WHERE ${where(3)}`,
        `UPDATE audit_events SET seq = 3 WHERE ${where(12)}`,
        `UPDATE audit_events SET seq = 12 WHERE ${where(-1)}`,
      ]);
      expectProblem(report, 'reordered', 3);
    });

    it('catches deleted checkpoints when the gap exceeds what the writer leaves unsigned', async () => {
      const t = await fresh();
      try {
        const key = await fill(t.store, 20);
        // Every 5 events, so at most 5 + one batch (1 here) unsigned.
        expect((await verifyAudit(t.store.audit, key.jwks, { maxUnsigned: 6 })).ok).toBe(true);
        await t.exec(`DELETE FROM audit_checkpoints WHERE chain = ${q(CHAIN)} AND seq IN (10, 15)`);
        const report = await verifyAudit(t.store.audit, key.jwks, { maxUnsigned: 6 });
        expectProblem(report, 'bad-checkpoint', 6);
        await t.exec(`DELETE FROM audit_checkpoints WHERE chain = ${q(CHAIN)}`);
        expectProblem(
          await verifyAudit(t.store.audit, key.jwks, { maxUnsigned: 6 }),
          'bad-checkpoint',
          1,
        );
      } finally {
        await t.close();
      }
    });

    it('catches a checkpoint whose signature was damaged', async () => {
      const report = await tampered(() => [
        `UPDATE audit_checkpoints SET jws = jws || 'x' WHERE ${where(10)}`,
      ]);
      expectProblem(report, 'bad-checkpoint', 10);
    });

    it('catches a checkpoint signed by a key not in the JWKS', async () => {
      const report = await tampered(async () => {
        const { sign } = await aSigningKey('intruder');
        const jws = await sign(
          { iss: 'x', chain: CHAIN, seq: 5, hash: '0'.repeat(64), iat: 1 },
          'gatehouse-checkpoint+jwt',
        );
        return [`UPDATE audit_checkpoints SET jws = ${q(jws)} WHERE ${where(5)}`];
      });
      expectProblem(report, 'bad-checkpoint', 5);
    });

    it('names a corrupt row instead of crashing', async () => {
      for (const event of ['not json {', '[]', '{"chain":"replica-1"}', '{"seq":1e999}']) {
        const report = await tampered(
          () => [`UPDATE audit_events SET event = ${q(event)} WHERE ${where(9)}`],
          12,
        );
        expectProblem(report, 'corrupt', 9);
      }
      const report = await tampered(
        () => [`UPDATE audit_events SET hash = 'zz' WHERE ${where(4)}`],
        6,
      );
      expectProblem(report, 'corrupt', 4);
    });

    it('cannot see events forged after the last checkpoint with valid links (documented limit)', async () => {
      const report = await tampered(async (s) => {
        const f = forgedRow(21, await hashAt(s, 20));
        return [
          f.sql,
          `UPDATE audit_chains SET head_seq = 21, head_hash = ${q(f.hash)} WHERE chain = ${q(CHAIN)}`,
        ];
      });
      expect(report.ok).toBe(true);
    });
  });
}
