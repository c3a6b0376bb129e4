/**
 * @module test/audit-verify.test — the audit log end to end over a real app's data dir: events
 * written through the writer with the server's own key ring, then `GET /v1/audit/keys`,
 * `GET /v1/audit/verify` (scope audit:read: auditors yes, admins no) and `gatehouse audit verify`
 * (exit 0 intact, 1 at the first problem) on the same store, before and after tampering.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditLog, jwsSigner, verifyCheckpoint, PublicKeys } from '../src/audit/index.js';
import { anEvent } from '../src/audit/fixtures.js';
import { runCli } from '../src/cli/run.js';
import { loadDriver } from '../src/store/backends/sqlite.js';
import { startApp, type Fixture } from './support/app-fixture.js';
import { join } from 'node:path';

let f: Fixture;
beforeEach(async () => {
  // The requests of this file are not recorded: it reads a chain it wrote itself.
  f = await startApp({ config: { audit: { enabled: false } } });
});
afterEach(async () => {
  await f.close();
});

async function record(count: number): Promise<void> {
  const log = createAuditLog({
    store: f.app.store.audit,
    chain: 'replica-1',
    sign: jwsSigner(() => f.app.auth.keys.signingKey()),
    issuer: f.config.auth.issuer,
    checkpointEvery: 4,
  });
  for (let i = 0; i < count; i++) await log.record(anEvent({ subject: `user-${String(i)}` }));
  await log.close();
}

async function tokenFor(roles: string[], scopes: string[]): Promise<string> {
  const { token } = await f.app.auth.issuer.issue({
    subject: 'someone',
    clientId: 'gh_test',
    scopes,
    roles,
    ttl: 300,
  });
  return token;
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['audit', 'verify', '--data-dir', f.dir, ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function tamper(sql: string): Promise<void> {
  const { Database } = await loadDriver();
  const db = new Database(join(f.dir, 'gatehouse.db'));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

describe('audit keys and verify', () => {
  it('publishes every signing key ever used, which verifies checkpoints after a rotation', async () => {
    await record(5);
    const before = f.app.auth.keys.signingKey().kid;
    await f.app.auth.keys.rotate(undefined, 0);
    const res = await f.app.http.inject({ method: 'GET', url: '/v1/audit/keys' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    const jwks = res.json<{ keys: { kid: string; d?: string }[] }>();
    expect(jwks.keys.map((k) => k.kid)).toContain(before);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
    const [cp] = await f.app.store.audit.checkpoints('replica-1', 0, 1);
    const v = await verifyCheckpoint(cp?.jws ?? '', new PublicKeys(jwks));
    expect(v.ok && v.claims.seq).toBe(4);
  });

  it('answers GET /v1/audit/verify for audit:read only', async () => {
    await record(9);
    const url = '/v1/audit/verify';
    expect((await f.app.http.inject({ method: 'GET', url })).statusCode).toBe(401);
    const admin = await tokenFor(['admin'], ['clients:admin', 'keys:admin', 'policy:admin']);
    const denied = await f.app.http.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/insufficient_scope/);
    const auditor = await tokenFor(['auditor'], ['audit:read']);
    const ok = await f.app.http.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      ok: true,
      chains: [
        {
          chain: 'replica-1',
          events: 9,
          headSeq: 9,
          checkpoints: 3,
          lastCheckpointSeq: 9,
          purgedThrough: 0,
        },
      ],
    });
    await tamper(`DELETE FROM audit_events WHERE seq = 6`);
    const bad = await f.app.http.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(bad.statusCode).toBe(200);
    expect(bad.json()).toMatchObject({
      ok: false,
      problem: { chain: 'replica-1', seq: 6, kind: 'deleted' },
    });
  });

  it('runs `gatehouse audit verify` on the data dir: exit 0 intact, 1 with the first problem', async () => {
    await record(6);
    const good = await cli();
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/chain replica-1: 6 events, 2 checkpoints/);
    expect(good.out).toMatch(/audit log ok: 1 chain\(s\) verified/);
    await tamper(
      `UPDATE audit_events SET event = REPLACE(event, 'user-2', 'user-3') WHERE seq = 3`,
    );
    const bad = await cli('--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, problem: { seq: 3, kind: 'altered' } });
    expect(bad.err).toBe('gatehouse: audit verify: chain replica-1 seq 3: altered');
  });

  it('exports the selection with `gatehouse audit export`, to stdout or a file', async () => {
    await record(6);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    const args = ['audit', 'export', '--data-dir', f.dir];
    expect(await runCli([...args, '--subject', 'user-2'], io)).toBe(0);
    expect(out.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([3]);
    const file = join(f.dir, 'audit.csv');
    expect(await runCli([...args, '--format', 'csv', '--out', file], io)).toBe(0);
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^chain,seq,time,/);
    const err: string[] = [];
    const bad = await runCli([...args, '--from', 'yesterday'], {
      out: () => undefined,
      err: (l) => err.push(l),
    });
    expect(bad).toBe(2);
    expect(err.join('\n')).toMatch(/--from must be an RFC 3339 date-time/);
  });

  it('purges old events with `gatehouse audit purge`, and the store still verifies', async () => {
    const log = createAuditLog({
      store: f.app.store.audit,
      chain: 'replica-1',
      sign: jwsSigner(() => f.app.auth.keys.signingKey()),
      issuer: f.config.auth.issuer,
    });
    const old = Date.now() - 40 * 86_400_000;
    for (let i = 0; i < 5; i++) await log.record(anEvent({ time: old + i }));
    await log.record(anEvent({ time: Date.now() }));
    await log.close();
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    const args = ['audit', 'purge', '--data-dir', f.dir];
    expect(await runCli([...args, '--days', '30', '--json'], io)).toBe(0);
    expect(JSON.parse(out[0] ?? '')).toEqual([{ chain: 'replica-1', throughSeq: 5, deleted: 5 }]);
    expect(await runCli([...args, '--days', '30'], io)).toBe(0);
    expect(out[1]).toBe('nothing to purge');
    const err: string[] = [];
    expect(await runCli(args, { out: () => undefined, err: (l) => err.push(l) })).toBe(2);
    expect(err.join('')).toMatch(/--days is required/);
    const verified = await cli('--json');
    expect(verified.code).toBe(0);
    const report = JSON.parse(verified.out) as {
      chains: { chain: string; purgedThrough: number }[];
    };
    expect(report.chains.find((c) => c.chain === 'replica-1')?.purgedThrough).toBe(5);
    // The purge itself was recorded on this host's chain.
    expect(report.chains.length).toBe(2);
  });

  it('fails checkpoints verified against a JWKS file without the signing key', async () => {
    await record(4);
    const { writeFileSync } = await import('node:fs');
    const file = join(f.dir, 'other.jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [] }));
    const r = await cli('--jwks', file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/seq 4: bad-checkpoint: checkpoint at seq 4: unknown key/);
  });
});
