/**
 * @module audit/writer — the audit log of one replica: group commit onto its hash chain, fail
 * closed, signed checkpoints. Calls to `record` that arrive while a commit is in flight form the
 * next batch, written in one transaction (one fsync for all). The store's compare-and-append
 * keeps the chain linear when several processes share a chain id: on a conflict the head is
 * reloaded and the batch re-chained on top of it.
 */
import { AuditUnavailableError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { AuditRow, AuditStore, ChainHead } from '../store/index.js';
import { eventText, linkHash } from './chain.js';
import { CHECKPOINT_TYP, type PayloadSigner } from './checkpoint.js';
import type {
  AuditBacklog,
  AuditEventInput,
  AuditLog,
  AuditWriteObserver,
  ChainPosition,
} from './types.js';

/** Where the writer reports what a request cannot (failures, checkpoints that failed). */
export type AuditLogSink = (
  level: 'info' | 'warn' | 'error',
  obj: Record<string, unknown>,
  msg: string,
) => void;

export interface AuditLogOptions {
  store: AuditStore;
  /** This replica's chain id (config `audit.replicaId`). */
  chain: string;
  /** Signs checkpoint payloads (the key ring's current key; see `jwsSigner`). */
  sign: PayloadSigner;
  /** `iss` of the checkpoints: the server's issuer URL. */
  issuer: string;
  clock?: Clock;
  /** A checkpoint after this many events… */
  checkpointEvery?: number;
  /** …or after this many ms with new events, whichever comes first. */
  checkpointIntervalMs?: number;
  /** Events waiting for a commit beyond which `record` refuses at once. */
  maxPending?: number;
  /** Most events written in one transaction. */
  maxBatch?: number;
  /** After a failed write, the store is tried again at most this often (ms). */
  probeIntervalMs?: number;
  log?: AuditLogSink;
}

interface Waiter {
  event: AuditEventInput;
  /** `performance.now()` when recorded (metrics: the lag). */
  at: number;
  resolve: (p: ChainPosition) => void;
  reject: (e: Error) => void;
}

/** Conflicts in a row before a batch gives up (another writer appending without pause). */
const MAX_CONFLICTS = 20;

/** Creates the audit log; the store must stay open until `close()` resolves. */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  return new Writer(options);
}

class Writer implements AuditLog {
  readonly chain: string;
  readonly #o: Required<Omit<AuditLogOptions, 'log'>> & { log: AuditLogSink | undefined };
  #pending: Waiter[] = [];
  #running: Promise<void> | undefined;
  #head: ChainHead | undefined;
  /** Highest seq covered by a checkpoint, once known. */
  #checkpointed: number | undefined;
  #checkpointing: Promise<void> | undefined;
  readonly #cpQueue: ChainHead[] = [];
  /** Seq of the checkpoint being signed now (0 when none). */
  #signing = 0;
  #failing = false;
  #retryAt = 0;
  #closed = false;
  readonly #timer: NodeJS.Timeout;
  // metrics: who hears of commits, and the batch in flight (its size, its oldest event's time).
  #observer: AuditWriteObserver | undefined;
  #inFlight = 0;
  #inFlightSince = 0;

  constructor(o: AuditLogOptions) {
    this.chain = o.chain;
    this.#o = {
      clock: systemClock,
      checkpointEvery: 1000,
      checkpointIntervalMs: 10_000,
      maxPending: 10_000,
      maxBatch: 1000,
      probeIntervalMs: 1000,
      ...o,
      log: o.log,
    };
    this.#timer = setInterval(() => {
      const head = this.#head;
      if (head !== undefined && head.seq > (this.#checkpointed ?? 0) && this.#signing === 0) {
        this.#startCheckpoint();
      }
    }, this.#o.checkpointIntervalMs);
    this.#timer.unref();
  }

  healthy(): boolean {
    return !this.#failing;
  }

  observe(observer: AuditWriteObserver): void {
    this.#observer = observer;
  }

  backlog(): AuditBacklog {
    const events = this.#inFlight + this.#pending.length;
    const since = this.#inFlight > 0 ? this.#inFlightSince : this.#pending[0]?.at;
    return { events, oldestSeconds: since === undefined ? 0 : (performance.now() - since) / 1000 };
  }

  record(event: AuditEventInput): Promise<ChainPosition> {
    if (this.#closed) return Promise.reject(new AuditUnavailableError());
    // While the store is failing, refuse without touching it until the next probe is due.
    if (this.#failing && this.#o.clock() < this.#retryAt) {
      return Promise.reject(new AuditUnavailableError());
    }
    if (this.#pending.length >= this.#o.maxPending) {
      return Promise.reject(new AuditUnavailableError());
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ event, at: performance.now(), resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Let the calls of the current tick join the first batch.
    await Promise.resolve();
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#o.maxBatch);
        await this.#commit(batch);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #commit(batch: Waiter[]): Promise<void> {
    this.#inFlight = batch.length;
    this.#inFlightSince = batch[0]?.at ?? 0;
    try {
      for (let attempt = 0; attempt <= MAX_CONFLICTS; attempt++) {
        if (this.#head === undefined) await this.#loadHead();
        const head = this.#head ?? { seq: 0, hash: '' };
        const { rows, waiters } = this.#chainOnto(head, batch);
        batch = waiters;
        const last = rows.at(-1);
        if (last === undefined) return;
        const started = performance.now();
        if ((await this.#o.store.append(this.chain, head.seq, rows)) === 'ok') {
          this.#observer?.written(rows.length, (performance.now() - started) / 1000);
          this.#head = { seq: last.seq, hash: last.hash };
          if (this.#failing)
            this.#o.log?.('info', { chain: this.chain }, 'audit log writable again');
          this.#failing = false;
          rows.forEach((r, i) => waiters[i]?.resolve({ chain: r.chain, seq: r.seq, hash: r.hash }));
          const covered = Math.max(
            this.#checkpointed ?? 0,
            this.#cpQueue.at(-1)?.seq ?? 0,
            this.#signing,
          );
          if (last.seq - covered >= this.#o.checkpointEvery) {
            this.#startCheckpoint();
          }
          return;
        }
        this.#head = undefined; // another writer moved the head: reload and re-chain
      }
      throw new Error(`audit chain ${this.chain}: too many concurrent appends`);
    } catch (cause) {
      // The commit may have landed even though it reported failure: reload the head next time.
      this.#head = undefined;
      this.#observer?.failed();
      if (!this.#failing)
        this.#o.log?.('error', { err: cause, chain: this.chain }, 'audit log write failed');
      this.#failing = true;
      this.#retryAt = this.#o.clock() + this.#o.probeIntervalMs;
      const waiting = [...batch, ...this.#pending.splice(0)];
      for (const w of waiting) w.reject(new AuditUnavailableError({ cause }));
    } finally {
      this.#inFlight = 0;
    }
  }

  async #loadHead(): Promise<void> {
    const [head, last] = await Promise.all([
      this.#o.store.head(this.chain),
      this.#checkpointed === undefined ? this.#o.store.lastCheckpoint(this.chain) : undefined,
    ]);
    this.#head = head;
    this.#checkpointed ??= last?.seq ?? 0;
  }

  /** Rows for `batch` after `head`; an event that cannot be encoded is refused alone. */
  #chainOnto(head: ChainHead, batch: Waiter[]): { rows: AuditRow[]; waiters: Waiter[] } {
    const rows: AuditRow[] = [];
    const waiters: Waiter[] = [];
    let prev = head;
    for (const w of batch) {
      const seq = prev.seq + 1;
      let text: string;
      try {
        text = eventText(w.event, this.chain, seq);
      } catch (err) {
        w.reject(err instanceof Error ? err : new TypeError('audit event cannot be encoded'));
        continue;
      }
      const e = w.event;
      const hash = linkHash(text, prev.hash);
      rows.push({
        chain: this.chain,
        seq,
        time: e.time,
        subject: e.subject,
        clientId: e.clientId,
        action: e.action,
        resource: e.resource,
        decision: e.decision,
        status: e.status,
        hash,
        prevHash: prev.hash,
        event: text,
      });
      waiters.push(w);
      prev = { seq, hash };
    }
    return { rows, waiters };
  }

  /**
   * Queues a checkpoint over the head as it is now. Each queued head is signed in turn (so a
   * checkpoint lands exactly every N events); if signing falls far behind, only the newest
   * waiting head is kept.
   */
  #startCheckpoint(): void {
    const head = this.#head;
    if (head === undefined) return;
    const last = this.#cpQueue.at(-1);
    if (last !== undefined && last.seq >= head.seq) return;
    if (this.#cpQueue.length >= 16) this.#cpQueue.length = 0;
    this.#cpQueue.push(head);
    this.#pump();
  }

  #pump(): void {
    if (this.#checkpointing !== undefined) return;
    this.#checkpointing = this.#signQueued().finally(() => {
      this.#checkpointing = undefined;
      this.#signing = 0;
      // A head queued between the loop's end and here would otherwise wait for the next one.
      if (this.#cpQueue.length > 0) this.#pump();
    });
  }

  async #signQueued(): Promise<void> {
    for (let head = this.#cpQueue.shift(); head !== undefined; head = this.#cpQueue.shift()) {
      this.#signing = head.seq;
      await this.#checkpoint(head);
    }
  }

  /** Signs and stores a checkpoint over `head`; never rejects. */
  async #checkpoint(head: ChainHead): Promise<void> {
    if (head.seq <= (this.#checkpointed ?? 0)) return;
    const now = this.#o.clock();
    const claims = {
      iss: this.#o.issuer,
      chain: this.chain,
      seq: head.seq,
      hash: head.hash,
      iat: Math.floor(now / 1000),
    };
    try {
      const jws = await this.#o.sign(claims, CHECKPOINT_TYP);
      await this.#o.store.addCheckpoint({
        chain: this.chain,
        seq: head.seq,
        hash: head.hash,
        jws,
        createdAt: now,
      });
      this.#checkpointed = Math.max(this.#checkpointed ?? 0, head.seq);
    } catch (err) {
      this.#o.log?.('error', { err, chain: this.chain, seq: head.seq }, 'audit checkpoint failed');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    while (this.#checkpointing !== undefined) await this.#checkpointing;
    try {
      // Also covers a head left unsigned by an earlier run that ended without a checkpoint.
      if (this.#head === undefined) await this.#loadHead();
    } catch (err) {
      this.#o.log?.('error', { err, chain: this.chain }, 'audit log: no final checkpoint');
      return;
    }
    if (this.#head !== undefined) await this.#checkpoint(this.#head);
  }
}
