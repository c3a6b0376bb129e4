/**
 * @module audit/verify — recomputes every chain from the store, in pages (bounded memory
 * whatever the chain's length), and checks every signed checkpoint with public keys only.
 * Reports `ok`, or the first problem by chain and seq with its kind. A damaged row is a finding,
 * never a crash.
 */
import type { JWK } from 'jose';
import type { AuditCheckpointRow, AuditRow, AuditStore } from '../store/index.js';
import { linkHash, ZERO_HASH } from './chain.js';
import { PublicKeys, PURGE_TYP, verifyCheckpoint } from './checkpoint.js';
import {
  CheckpointCursor,
  classify,
  columnMismatch,
  parseBody,
  type AuditProblemKind,
} from './verify-rows.js';

export type { AuditProblemKind };

export interface AuditProblem {
  chain: string;
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface ChainReport {
  chain: string;
  events: number;
  headSeq: number;
  checkpoints: number;
  /** Seq of the last checkpoint: events after it are not covered by a signature. */
  lastCheckpointSeq: number | null;
  /** Events up to this seq were purged by retention (signed purge record); 0 if none. */
  purgedThrough: number;
}

export type VerifyReport =
  { ok: true; chains: ChainReport[] } | { ok: false; problem: AuditProblem; chains: ChainReport[] };

export interface VerifyOptions {
  /** Rows read per query (default 1000). */
  pageSize?: number;
  /**
   * Most events a chain may hold without a checkpoint (between two, before the first, after the
   * last). The writer signs every `checkpointEvery` events, overshooting by less than a batch, so
   * `checkpointEvery + maxBatch` (2,000 by default) is never exceeded unless checkpoints were
   * deleted (or signing failed, which the server logs). Default: not checked.
   */
  maxUnsigned?: number;
}

/** The bound {@link VerifyOptions.maxUnsigned} for a writer with these settings. */
export function unsignedBound(checkpointEvery: number, maxBatch = 1000): number {
  return checkpointEvery + maxBatch;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** How far ahead a broken link is looked for its cause. */
const LOOKAHEAD = 256;

/** Verifies every chain of `store` against the public keys `jwks`. */
export async function verifyAudit(
  store: AuditStore,
  jwks: { keys: readonly JWK[] },
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const keys = new PublicKeys(jwks);
  const pageSize = options.pageSize ?? 1000;
  const chains: ChainReport[] = [];
  for (const chain of await store.chains()) {
    let result: ChainReport | { problem: AuditProblem };
    try {
      result = await verifyChain(store, chain, keys, pageSize, options.maxUnsigned);
    } catch (err) {
      if (err instanceof Found) return { ok: false, problem: err.problem, chains };
      throw err;
    }
    if ('problem' in result) return { ok: false, problem: result.problem, chains };
    chains.push(result);
  }
  return { ok: true, chains };
}

/** Unwinds the scan at the first problem (caught in verifyChain, never escapes it). */
class Found extends Error {
  constructor(readonly problem: AuditProblem) {
    super(problem.message);
  }
}

async function verifyChain(
  store: AuditStore,
  chain: string,
  keys: PublicKeys,
  pageSize: number,
  maxUnsigned = Infinity,
): Promise<ChainReport | { problem: AuditProblem }> {
  const fail = (seq: number, kind: AuditProblemKind, message: string): never => {
    throw new Found({ chain, seq, kind, message });
  };
  // A signed purge record restarts the chain after the last purged event.
  let cut: AuditCheckpointRow | undefined;
  for (const p of await store.purges(chain)) {
    const v = await verifyCheckpoint(p.jws, keys, PURGE_TYP);
    const c = v.ok ? v.claims : undefined;
    if (c?.chain !== chain || c.seq !== p.seq || c.hash !== p.hash) {
      const why = v.ok ? 'its row differs from its signed claims' : v.reason;
      throw new Found({
        chain,
        seq: p.seq,
        kind: 'bad-checkpoint',
        message: `purge record at seq ${String(p.seq)}: ${why}`,
      });
    }
    cut = p;
  }
  const purgedThrough = cut?.seq ?? 0;
  const cps = new CheckpointCursor(store, chain, pageSize, purgedThrough);
  let expected = purgedThrough + 1;
  let prevHash = cut?.hash ?? ZERO_HASH;
  let prevRowPrev: string | undefined;
  let events = 0;
  let checkpoints = 0;
  let lastCheckpointSeq: number | null = null;
  const covered = { seq: purgedThrough };
  const unsigned = (from: number, to: number) => {
    if (to - from > maxUnsigned) {
      fail(
        from + 1,
        'bad-checkpoint',
        `no checkpoint covers seq ${String(from + 1)}..${String(to)} (more than ${String(maxUnsigned)} events): checkpoints are missing`,
      );
    }
  };

  const checkCheckpoint = async (cp: AuditCheckpointRow, row: AuditRow | undefined) => {
    const v = await verifyCheckpoint(cp.jws, keys);
    if (!v.ok) fail(cp.seq, 'bad-checkpoint', `checkpoint at seq ${String(cp.seq)}: ${v.reason}`);
    const c = v.ok ? v.claims : undefined;
    if (c?.chain !== chain || c.seq !== cp.seq || c.hash !== cp.hash) {
      fail(
        cp.seq,
        'bad-checkpoint',
        `checkpoint at seq ${String(cp.seq)}: its row differs from its signed claims`,
      );
    }
    if (row === undefined && cp.seq < expected) {
      fail(cp.seq, 'bad-checkpoint', `checkpoint at seq ${String(cp.seq)}: no such position`);
    }
    if (row === undefined) {
      fail(
        expected,
        'deleted',
        `events from seq ${String(expected)} are missing: a checkpoint signs seq ${String(cp.seq)}`,
      );
    } else if (c?.hash !== row.hash) {
      fail(
        cp.seq,
        'bad-checkpoint',
        `the event at seq ${String(cp.seq)} does not match its signed checkpoint: the chain up to it was rewritten`,
      );
    }
    unsigned(covered.seq, cp.seq);
    checkpoints++;
    lastCheckpointSeq = cp.seq;
    covered.seq = cp.seq;
  };

  try {
    for (let after = 0; ;) {
      const page = await store.events(chain, after, pageSize);
      for (const [i, r] of page.entries()) {
        if (!Number.isSafeInteger(r.seq) || r.seq < 1) {
          fail(expected, 'corrupt', `the row after seq ${String(expected - 1)} has no valid seq`);
        }
        if (r.seq > expected) {
          fail(expected, 'deleted', `events ${String(expected)}..${String(r.seq - 1)} are missing`);
        }
        const body =
          parseBody(r.event) ??
          fail(r.seq, 'corrupt', `seq ${String(r.seq)}: the stored event is not a readable event`);
        if (!HEX64.test(r.hash) || !HEX64.test(r.prevHash)) {
          fail(
            r.seq,
            'corrupt',
            `seq ${String(r.seq)}: its hash or prev_hash is not 64 hex characters`,
          );
        }
        if (linkHash(r.event, r.prevHash) !== r.hash) {
          fail(r.seq, 'altered', `seq ${String(r.seq)}: the event does not match its hash`);
        }
        const column = columnMismatch(r, body);
        if (column !== undefined)
          fail(
            r.seq,
            'altered',
            `seq ${String(r.seq)}: column ${column} differs from the hashed event`,
          );
        if (body.chain !== chain)
          fail(r.seq, 'inserted', `seq ${String(r.seq)}: the event belongs to another chain`);
        if (body.seq !== r.seq || r.prevHash !== prevHash) {
          const ahead = [...page.slice(i + 1, i + 1 + LOOKAHEAD)];
          if (ahead.length < LOOKAHEAD)
            ahead.push(...(await store.events(chain, ahead.at(-1)?.seq ?? r.seq, LOOKAHEAD)));
          classify(r, body.seq as number, prevHash, prevRowPrev, ahead, fail);
        }
        await cps.fill();
        while ((cps.peek()?.seq ?? Infinity) <= r.seq) {
          const cp = await cps.next();
          if (cp !== undefined) await checkCheckpoint(cp, cp.seq === r.seq ? r : undefined);
          await cps.fill();
        }
        events++;
        expected = r.seq + 1;
        prevRowPrev = r.prevHash;
        prevHash = r.hash;
      }
      const last = page.at(-1);
      if (last === undefined || page.length < pageSize) break;
      after = last.seq;
    }
    await cps.fill();
    const orphan = cps.peek();
    if (orphan !== undefined) await checkCheckpoint(orphan, undefined);
    const head = await store.head(chain);
    if (head.seq > expected - 1) {
      fail(
        expected,
        'deleted',
        `events from seq ${String(expected)} are missing: the chain head records seq ${String(head.seq)}`,
      );
    }
    if (head.seq < expected - 1) {
      fail(
        head.seq + 1,
        'inserted',
        `events from seq ${String(head.seq + 1)} were added after the recorded chain head`,
      );
    }
    unsigned(covered.seq, expected - 1);
    if (head.seq > 0 && head.hash !== prevHash)
      fail(head.seq, 'altered', 'the chain head hash differs from the last event');
  } catch (err) {
    if (err instanceof Found) return { problem: err.problem };
    throw err;
  }
  return { chain, events, headSeq: expected - 1, checkpoints, lastCheckpointSeq, purgedThrough };
}
