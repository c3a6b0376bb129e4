/**
 * @module audit/verify-rows — the row-level parts of `verify`: reading a stored event back,
 * comparing its indexed columns, naming what broke a link, and paging checkpoints alongside.
 */
import type { AuditCheckpointRow, AuditRow, AuditStore } from '../store/index.js';
import { BODY_KEYS } from './chain.js';

/**
 * What went wrong. `altered`: an event's content (or an indexed copy of it) changed, or it no
 * longer links to its predecessor; `deleted`: events are missing; `inserted`: an event was added
 * inside the chain; `reordered`: events are out of order; `bad-checkpoint`: a checkpoint whose
 * signature does not verify or which the chain no longer matches; `corrupt`: a row that cannot
 * be read as an event.
 */
export type AuditProblemKind =
  'altered' | 'deleted' | 'inserted' | 'reordered' | 'bad-checkpoint' | 'corrupt';

/** A parsed event body. */
export type Body = Record<(typeof BODY_KEYS)[number], unknown>;

/**
 * Parses a stored event text; undefined when it is not an event body. The hash is checked over
 * the stored text itself (what the writer hashed), so it need not be re-encoded here.
 */
export function parseBody(text: string): Body | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const k of BODY_KEYS) if (!Object.hasOwn(o, k)) return undefined;
  if (typeof o.chain !== 'string' || !Number.isSafeInteger(o.seq)) return undefined;
  return o as Body;
}

/** The indexed column that disagrees with the hashed event, if any. */
export function columnMismatch(r: AuditRow, b: Body): string | undefined {
  const pairs: [string, unknown, unknown][] = [
    ['time', r.time, b.time],
    ['subject', r.subject, b.subject],
    ['client_id', r.clientId, b.clientId],
    ['action', r.action, b.action],
    ['resource', r.resource, b.resource],
    ['decision', r.decision, b.decision],
    ['status', r.status, b.status],
  ];
  return pairs.find(([, col, field]) => col !== field)?.[0];
}

/**
 * Names a broken position: row `r` holds an event whose own seq is `ownSeq`, or which does not
 * link to the event before it (`prevHash`). `ahead` are the rows after it.
 */
export function classify(
  r: AuditRow,
  ownSeq: number,
  prevHash: string,
  prevRowPrev: string | undefined,
  ahead: readonly AuditRow[],
  fail: (seq: number, kind: AuditProblemKind, message: string) => never,
): never {
  const at = String(r.seq);
  // Two events claim the same predecessor: the one before this was put in between.
  if (prevRowPrev !== undefined && r.prevHash === prevRowPrev) {
    fail(
      r.seq - 1,
      'inserted',
      `seq ${String(r.seq - 1)} was inserted: it and seq ${at} follow the same event`,
    );
  }
  // This event's predecessor comes later: events were moved.
  if (ahead.some((a) => a.hash === r.prevHash)) {
    fail(r.seq, 'reordered', `seq ${at} holds an event that belongs after a later one`);
  }
  // The true successor of the previous event comes next: this one was put in between.
  if (ahead[0]?.prevHash === prevHash) {
    fail(
      r.seq,
      'inserted',
      `seq ${at} was inserted: the next event follows seq ${String(r.seq - 1)}`,
    );
  }
  if (ownSeq > r.seq) {
    fail(
      r.seq,
      'deleted',
      `events before the one now at seq ${at} (written as seq ${String(ownSeq)}) are missing`,
    );
  }
  if (ownSeq < r.seq)
    fail(r.seq, 'inserted', `seq ${at} holds an event written as seq ${String(ownSeq)}`);
  return fail(r.seq, 'altered', `seq ${at} does not link to the event before it`);
}

/** Pages through a chain's checkpoints alongside its events. */
export class CheckpointCursor {
  #buf: AuditCheckpointRow[] = [];
  #after: number;
  #done = false;

  constructor(
    readonly store: AuditStore,
    readonly chain: string,
    readonly pageSize: number,
    after: number,
  ) {
    this.#after = after;
  }

  async fill(): Promise<void> {
    if (this.#buf.length > 0 || this.#done) return;
    const page = await this.store.checkpoints(this.chain, this.#after, this.pageSize);
    if (page.length < this.pageSize) this.#done = true;
    const last = page.at(-1);
    if (last !== undefined) this.#after = last.seq;
    this.#buf = page;
  }

  peek(): AuditCheckpointRow | undefined {
    return this.#buf[0];
  }

  async next(): Promise<AuditCheckpointRow | undefined> {
    await this.fill();
    return this.#buf.shift();
  }
}
