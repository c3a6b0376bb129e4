/**
 * @module test/helpers/postgres — the PostgreSQL the integration tests run against: DATABASE_URL
 * when it is set and answers, else undefined (the suite is skipped, and says why), and the
 * clean-up of the fresh schema a suite made.
 */

/** DATABASE_URL if set and reachable; otherwise undefined, with a warning naming `suite`. */
export async function postgresForTests(suite: string): Promise<string | undefined> {
  const url = process.env.DATABASE_URL ?? '';
  if (url === '') {
    console.warn(
      `${suite}: skipped; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run`,
    );
    return undefined;
  }
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch {
    console.warn(`${suite}: skipped; DATABASE_URL is set but PostgreSQL does not answer`);
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops `schema` and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
