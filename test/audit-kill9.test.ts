/**
 * @module test/audit-kill9.test — `kill -9` at a random moment loses no event a caller was told
 * is durable, and the chain verifies after every restart. A child process writes through the
 * real writer and store (SQLite file; PostgreSQL too when DATABASE_URL is set) and prints each
 * acknowledged position; it is killed after a random number of them, several rounds in a row.
 * Short mode (CI): 3 rounds; AUDIT_KILL9_ROUNDS raises it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { JWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { unsignedBound, verifyAudit } from '../src/audit/index.js';
import { openStore, type Store } from '../src/store/index.js';

const ROUNDS = Number(process.env.AUDIT_KILL9_ROUNDS ?? 3);
const CHILD = new URL('./support/audit-writer-child.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kill9-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer until it acknowledged `acks` events, then SIGKILLs it. */
function round(target: string, env: Record<string, string>, acks: number) {
  return new Promise<{ key: JWK; acked: Map<number, string> }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, target, 'kill9'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked = new Map<number, string>();
    let key: JWK | undefined;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const [tag, a, b] = line.split(' ');
      if (tag === 'KEY') key = JSON.parse(line.slice(4)) as JWK;
      // A line cut short by the kill is not an acknowledgement.
      if (tag === 'ACK' && a !== undefined && b?.length === 64) acked.set(Number(a), b);
      if (acked.size === acks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', () => {
      if (key === undefined) reject(new Error('writer never started'));
      else resolve({ key, acked });
    });
  });
}

async function loop(target: string, env: Record<string, string>, open: () => Promise<Store>) {
  const keys: JWK[] = [];
  const acked = new Map<number, string>();
  for (let r = 0; r < ROUNDS; r++) {
    const result = await round(target, env, 150 + Math.floor(Math.random() * 300));
    keys.push(result.key);
    for (const [seq, hash] of result.acked) acked.set(seq, hash);
    const store = await open();
    try {
      // Every acknowledged event is there, with the hash its caller was given.
      const rows = new Map<number, string>();
      for (let after = 0; ;) {
        const page = await store.audit.events('kill9', after, 1000);
        for (const row of page) rows.set(row.seq, row.hash);
        const last = page.at(-1);
        if (last === undefined) break;
        after = last.seq;
      }
      const lost = [...acked].filter(([seq, hash]) => rows.get(seq) !== hash);
      expect(lost).toEqual([]);
      const report = await verifyAudit(store.audit, { keys }, { maxUnsigned: unsignedBound(100) });
      expect(report.ok ? 'ok' : report.problem).toBe('ok');
    } finally {
      await store.close();
    }
  }
  expect(acked.size).toBeGreaterThanOrEqual(150 * ROUNDS);
}

describe('audit log under kill -9', () => {
  it('keeps every acknowledged event on SQLite', async () => {
    const file = join(dir, 'kill9.db');
    await loop(file, {}, () => openStore({ url: `sqlite:${file}`, dataDir: dir }));
  }, 120_000);

  const url = process.env.DATABASE_URL ?? '';
  it.skipIf(url === '')(
    'keeps every acknowledged event on PostgreSQL',
    async () => {
      const schema = `gatehouse_kill9_${randomBytes(4).toString('hex')}`;
      try {
        await loop(url, { AUDIT_SCHEMA: schema }, () => openStore({ url, schema, dataDir: dir }));
      } finally {
        const { Client } = await import('pg');
        const c = new Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
    },
    120_000,
  );
});
