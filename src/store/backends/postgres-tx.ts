/**
 * @module store/backends/postgres-tx — how the PostgreSQL registry runs its statements: one
 * pooled connection per transaction, every call's driver error turned into a StoreError.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { StoreError } from '../../errors.js';

/** Runs one statement and returns its rows (on the pool, or inside a transaction). */
export type Q = <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

/** Statements on `pool`, each its own transaction. */
export function onPool(pool: Pool): Q {
  return async <R extends QueryResultRow>(text: string, values: unknown[] = []) =>
    (await pool.query<R>(text, values)).rows;
}

/** Runs `work` on one pooled connection inside BEGIN … COMMIT (rolled back if it throws). */
export async function withTransaction<T>(
  pool: Pool,
  work: (c: PoolClient) => Promise<T>,
): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    const result = await work(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch((e: unknown) => {
      // A connection that cannot roll back is not fit for reuse; release(err) destroys it.
      broken = e instanceof Error ? e : new Error('rollback failed');
    });
    throw err;
  } finally {
    c.release(broken);
  }
}

/** {@link withTransaction}, with the connection as a {@link Q}. */
export function transaction<T>(pool: Pool, work: (q: Q) => Promise<T>): Promise<T> {
  return withTransaction(pool, (c) =>
    work(
      async <R extends QueryResultRow>(text: string, values: unknown[] = []) =>
        (await c.query<R>(text, values)).rows,
    ),
  );
}

/** Runs one store operation; driver errors (which may quote SQL) become a generic StoreError. */
export async function op<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new StoreError(`PostgreSQL store: ${name} failed`, { cause });
  }
}
