/**
 * @module store/backends/sqlite-audit-worker — audit appends on a worker thread with a connection
 * of its own (`synchronous = FULL`: every commit fsyncs the WAL). better-sqlite3 is synchronous,
 * so an fsync on the main thread would stall every request for its duration; here it stalls only
 * this thread, and the event loop keeps serving while a batch becomes durable. A batch crosses to
 * the thread as ONE string ({@link encodeRows}): cloning a string is a copy, where cloning an
 * array of row objects walks every field of every row on the main thread.
 */
import { Worker } from 'node:worker_threads';
import { StoreError } from '../../errors.js';
import type { AuditRow } from '../types.js';

/*
 * Plain CommonJS evaluated in the worker (no loader: runs the same from dist/ and under tsx). The
 * driver is required by the absolute path the main thread resolved, so both use the same build.
 * Compare-and-append is one BEGIN IMMEDIATE transaction: the head is read under the write lock.
 */
/**
 * The rows of one batch (all of one chain) as one string: per row, in column order after
 * `chain` (seq, time, subject, client_id, action, resource, decision, status, hash, prev_hash,
 * event), each value either `n` (null) or `<length>:<text>` — no escaping, so encoding and
 * decoding are a copy and a few slices per value.
 */
export function encodeRows(rows: readonly AuditRow[]): string {
  let out = '';
  const put = (v: string | number | null): void => {
    if (v === null) {
      out += 'n';
      return;
    }
    const t = String(v);
    out += `${String(t.length)}:${t}`;
  };
  for (const r of rows) {
    put(r.seq);
    put(r.time);
    put(r.subject);
    put(r.clientId);
    put(r.action);
    put(r.resource);
    put(r.decision);
    put(r.status);
    put(r.hash);
    put(r.prevHash);
    put(r.event);
  }
  return out;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
const head = db.prepare('SELECT head_seq FROM audit_chains WHERE chain = ?').pluck();
const insert = db.prepare(
  'INSERT INTO audit_events (chain, seq, time, subject, client_id, action, resource, decision, status, hash, prev_hash, event) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const setHead = db.prepare(
  'INSERT INTO audit_chains (chain, head_seq, head_hash) VALUES (?, ?, ?) ' +
  'ON CONFLICT (chain) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash');
const append = db.transaction((m) => {
  const current = head.get(m.chain);
  if ((current === undefined ? 0 : Number(current)) !== m.afterSeq) return 'conflict';
  const s = m.rows;
  const c = m.chain;
  let at = 0;
  const next = () => {
    if (s.charCodeAt(at) === 110) { at++; return null; } // 'n'
    const colon = s.indexOf(':', at);
    const end = colon + 1 + Number(s.slice(at, colon));
    const v = s.slice(colon + 1, end);
    at = end;
    return v;
  };
  const num = (v) => (v === null ? null : Number(v));
  let seq = 0, hash = '';
  while (at < s.length) {
    seq = Number(next());
    const time = Number(next()), subject = next(), clientId = next(), action = next();
    const resource = next(), decision = next(), status = num(next());
    hash = next();
    insert.run(c, seq, time, subject, clientId, action, resource, decision, status, hash, next(), next());
  }
  setHead.run(c, seq, hash);
  return 'ok';
});
parentPort.on('message', (m) => {
  if (m.close) { db.close(); parentPort.close(); return; }
  try {
    parentPort.postMessage({ id: m.id, result: append.immediate(m) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.code ? e.code : 'error') });
  }
});
`;

interface Reply {
  id: number;
  result?: 'ok' | 'conflict';
  error?: string;
}

interface Waiter {
  resolve: (r: 'ok' | 'conflict') => void;
  reject: (e: Error) => void;
}

/** The audit writer thread of one SQLite file. */
export class SqliteAuditWorker {
  readonly #driver: string;
  readonly #file: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Waiter>();
  #next = 0;
  #closed = false;

  /** `driver`: absolute path of the better-sqlite3 build to load; `file`: the database. */
  constructor(driver: string, file: string) {
    this.#driver = driver;
    this.#file = file;
  }

  /** Runs one compare-and-append of `rows` (consecutive, all of `chain`) on the thread. */
  append(chain: string, afterSeq: number, rows: readonly AuditRow[]): Promise<'ok' | 'conflict'> {
    if (this.#closed) return Promise.reject(new StoreError('SQLite store: audit writer closed'));
    const id = this.#next++;
    const encoded = encodeRows(rows);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const w = this.#thread();
      w.ref();
      w.postMessage({ id, chain, afterSeq, rows: encoded });
    });
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: this.#driver, file: this.#file },
    });
    worker.unref();
    const fail = (cause?: unknown) => {
      if (this.#worker === worker) this.#worker = undefined;
      const waiting = [...this.#pending.values()];
      this.#pending.clear();
      for (const w of waiting) {
        w.reject(new StoreError('SQLite store: audit writer thread stopped', { cause }));
      }
    };
    worker.on('message', (reply: Reply) => {
      const w = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      // Idle, the thread must not keep the process alive; busy, it must (a CLI or bench waits).
      if (this.#pending.size === 0) worker.unref();
      if (w === undefined) return;
      if (reply.result !== undefined) w.resolve(reply.result);
      else
        w.reject(new StoreError(`SQLite store: audit append failed (${reply.error ?? 'error'})`));
    });
    worker.on('error', fail);
    worker.on('exit', () => {
      fail();
    });
    this.#worker = worker;
    return worker;
  }

  /** Closes the thread's connection once the appends already sent have finished. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    if (w === undefined) return;
    const exited = new Promise<void>((resolve) =>
      w.once('exit', () => {
        resolve();
      }),
    );
    w.ref();
    w.postMessage({ close: true });
    await exited;
  }
}
