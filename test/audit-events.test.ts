/**
 * @module test/audit-events.test — `GET /v1/audit/events` (filters, cursor pages, 400s for
 * unknown filters, bad cursors and ranges) and `GET /v1/audit/export` (JSON Lines and CSV) on a
 * real app, for auditors only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, jwsSigner } from '../src/audit/index.js';
import { anEvent } from '../src/audit/fixtures.js';
import { startApp, type Fixture } from './support/app-fixture.js';

let f: Fixture;
let auditor: string;
const T0 = Date.parse('2026-03-01T00:00:00Z');

beforeAll(async () => {
  // The requests of this file are not recorded: it reads a chain it wrote itself.
  f = await startApp({ config: { audit: { enabled: false } } });
  const log = createAuditLog({
    store: f.app.store.audit,
    chain: 'replica-1',
    sign: jwsSigner(() => f.app.auth.keys.signingKey()),
    issuer: f.config.auth.issuer,
  });
  for (let i = 0; i < 25; i++) {
    await log.record(
      anEvent({
        time: T0 + i * 60_000,
        subject: i === 24 ? '=HYPERLINK("x")' : i % 5 === 0 ? 'bob' : 'alice',
        decision: i % 5 === 0 ? 'deny' : 'allow',
        status: i % 5 === 0 ? 403 : 200,
        resource: i % 2 === 0 ? `model:chat_1@${'ab'.repeat(32)}` : 'model:use-lite',
      }),
    );
  }
  await log.close();
  ({ token: auditor } = await f.app.auth.issuer.issue({
    subject: 'auditor-1',
    clientId: 'gh_audit',
    scopes: ['audit:read'],
    roles: ['auditor'],
    ttl: 300,
  }));
});
afterAll(async () => {
  await f.close();
});

const get = (url: string, token = auditor) =>
  f.app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

interface Page {
  data: { seq: number; subject: string; hash: string; prevHash: string; time: number }[];
  next_cursor: string | null;
}

describe('GET /v1/audit/events', () => {
  it('pages through every event in order with the cursor', async () => {
    const seen: number[] = [];
    let url = '/v1/audit/events?limit=7';
    for (;;) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      const page = res.json<Page>();
      seen.push(...page.data.map((e) => e.seq));
      if (page.next_cursor === null) break;
      url = `/v1/audit/events?limit=7&cursor=${page.next_cursor}`;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const one = (await get('/v1/audit/events?limit=1')).json<Page>().data[0];
    expect(one).toMatchObject({ chain: 'replica-1', seq: 1, prevHash: '0'.repeat(64) });
    expect(one?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('filters by subject, decision, status, model and time range', async () => {
    const seqs = async (q: string) =>
      (await get(`/v1/audit/events?${q}`)).json<Page>().data.map((e) => e.seq);
    expect(await seqs('subject=bob')).toEqual([1, 6, 11, 16, 21]);
    expect(await seqs('decision=deny&status=403')).toEqual([1, 6, 11, 16, 21]);
    expect(await seqs('model=chat_1&subject=bob')).toEqual([1, 11, 21]);
    expect(await seqs('model=use-lite&decision=deny')).toEqual([6, 16]);
    expect(await seqs('from=2026-03-01T00:02:00Z&to=2026-03-01T00:05:00Z')).toEqual([3, 4, 5]);
    expect(await seqs('from=2026-03-01T01:02:00%2B01:00&to=2026-03-01T00:04:00Z')).toEqual([3, 4]);
    expect(await seqs('client=gh_other')).toEqual([]);
    expect(await seqs('action=inference:invoke&limit=2')).toEqual([1, 2]);
  });

  it.each([
    ['subjet=bob', /unknown parameter "subjet"/],
    ['cursor=abc', /cursor is not a cursor/],
    [`cursor=${Buffer.from('[1,2]').toString('base64url')}`, /cursor is not a cursor/],
    ['from=yesterday', /from must be an RFC 3339 date-time/],
    ['from=2026-03-01T00:00:00', /from must be an RFC 3339/],
    ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', /from must be earlier than to/],
    ['decision=maybe', /decision must be allow, deny or error/],
    ['status=2000', /status must be an HTTP status code/],
    ['limit=0', /limit must be 1–1000/],
    ['limit=1001', /limit must be 1–1000/],
    ['subject=a&subject=b', /subject must be given once/],
    ['model=%25', /model must be a model id/],
  ])('refuses %s with 400 and a clear message', async (q, message) => {
    const res = await get(`/v1/audit/events?${q}`);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(message);
  });

  it('is for audit:read only', async () => {
    const { token } = await f.app.auth.issuer.issue({
      subject: 'root',
      clientId: 'gh_admin',
      scopes: ['clients:admin', 'keys:admin'],
      roles: ['admin'],
      ttl: 300,
    });
    expect((await get('/v1/audit/events', token)).statusCode).toBe(403);
    expect((await get('/v1/audit/export', token)).statusCode).toBe(403);
    const anon = await f.app.http.inject({ method: 'GET', url: '/v1/audit/events' });
    expect(anon.statusCode).toBe(401);
  });
});

describe('GET /v1/audit/export', () => {
  it('streams JSON Lines of the selection', async () => {
    const res = await get('/v1/audit/export?format=jsonl&subject=alice');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body.trimEnd().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { subject: string; hash: string });
    expect(events).toHaveLength(19);
    expect(events.every((e) => e.subject === 'alice' && e.hash.length === 64)).toBe(true);
  });

  it('streams CSV with formula-looking cells neutralized', async () => {
    const res = await get('/v1/audit/export?format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'chain,seq,time,subject,client_id,action,resource,decision,status,hash,prev_hash,event',
    );
    expect(lines).toHaveLength(26);
    expect(lines[1]).toMatch(/^replica-1,1,2026-03-01T00:00:00.000Z,bob,client-1,/);
    expect(lines[25]).toMatch(/^replica-1,25,2026-03-01T00:24:00.000Z,"'=HYPERLINK\(""x""\)",/);
  });

  it('refuses an unknown format and an unknown filter', async () => {
    expect((await get('/v1/audit/export?format=xml')).statusCode).toBe(400);
    expect((await get('/v1/audit/export?cursor=x')).statusCode).toBe(400);
  });
});
