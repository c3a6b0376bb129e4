/**
 * @module store/backends/sqlite-tx — how the SQLite registry runs its statements: writes in
 * BEGIN IMMEDIATE transactions, every call as a promise whose failure is a StoreError.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../../errors.js';

/**
 * `fn` as one BEGIN IMMEDIATE transaction (rolled back if it throws). IMMEDIATE takes the write
 * lock before the first read: another connection waits for it (busy_timeout) rather than reading
 * state about to change and then failing with SQLITE_BUSY when it tries to write.
 */
export function immediate<A extends unknown[], R>(
  db: BetterSqlite3.Database,
  fn: (...args: A) => R,
): (...args: A) => R {
  const tx = db.transaction(fn);
  return (...args) => tx.immediate(...args);
}

/** A synchronous store call as a promise; driver errors become a StoreError (cause kept). */
export function attempt<T>(op: string, run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (cause) {
    return Promise.reject(new StoreError(`SQLite store: ${op} failed`, { cause }));
  }
}
