/**
 * The audit stage end to end, with real tokens over inject(): every protected response and every
 * token issue is one durable event (identity, decision and reason, resource with the model
 * digest, usage, digests — never text), written before the response leaves; inference responses
 * carry a receipt that verifies offline and names the event; streams send it as an SSE comment
 * before [DONE]; anonymous refusals are aggregated; and a log that cannot be written turns the
 * response into a 503 (fail closed) until the store is back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { promptSha256, textOutputSha256, verifyReceipt } from '../src/audit/index.js';
import { sha256Hex } from '../src/audit/digests.js';
import { openKeyRing } from '../src/auth/index.js';
import { builtinPolicyText } from '../src/policy/index.js';
import { openStore, type AuditStore, type Store } from '../src/store/index.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';
import { RESTRICTED, writePolicy } from './support/policy-fixture.js';

interface Stored {
  chain: string;
  seq: number;
  requestId: string | null;
  subject: string | null;
  clientId: string | null;
  roles: string[];
  action: string;
  resource: string | null;
  decision: string;
  reason: string;
  status: number | null;
  usage: { promptTokens: number; completionTokens: number } | null;
  promptSha256: string | null;
  outputSha256: string | null;
  details: Record<string, unknown> | null;
}

const ECHO = { id: 'echo', backend: 'echo', task: 'generation' };
const MESSAGES = [{ role: 'user', content: 'Tell me about alice@example.com' }];

/** A store whose audit appends fail while `down` is set: the fault, on the real store. */
function faulty(store: Store): { store: Store; down: { on: boolean } } {
  const down = { on: false };
  const audit: AuditStore = new Proxy(store.audit, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'append' && typeof v === 'function') {
        return (...args: unknown[]) =>
          down.on
            ? Promise.reject(new Error('disk full'))
            : (v as (...a: unknown[]) => unknown).apply(target, args);
      }
      return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
    },
  });
  return {
    store: new Proxy(store, {
      get: (t, p): unknown => (p === 'audit' ? audit : Reflect.get(t, p)),
    }),
    down,
  };
}

describe('audit stage', () => {
  let f: Fixture;
  let token: string;
  let clientId: string;

  async function events(): Promise<Stored[]> {
    const log = f.app.audit;
    if (log === undefined) throw new Error('audit is off');
    const rows = await f.app.store.audit.events(log.chain, 0, 10_000);
    return rows.map((r) => JSON.parse(r.event) as Stored);
  }

  const chat = (body: Record<string, unknown>, authorization = `Bearer ${token}`) =>
    f.app.http.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization, 'content-type': 'application/json' },
      payload: { model: 'echo', messages: MESSAGES, max_tokens: 8, ...body },
    });

  beforeAll(async () => {
    f = await startApp({
      config: { models: [ECHO], audit: { anonymousIntervalMs: 100 } },
      realClock: true,
    });
    const client = await f.client({ roles: ['developer'] });
    clientId = client.id;
    const res = await requestToken(f, client);
    expect(res.statusCode).toBe(200);
    token = res.json<{ access_token: string }>().access_token;
  });
  afterAll(() => f.close());

  it('records the token issue with the client, its roles and what was granted — never the token', async () => {
    const issued = (await events()).find((e) => e.action === 'token.issue');
    expect(issued).toMatchObject({
      clientId,
      subject: clientId,
      roles: ['developer'],
      decision: 'allow',
      status: 200,
      resource: `client:${clientId}`,
      details: { grantType: 'client_credentials', refresh: false },
    });
    const rows = await f.app.store.audit.events(f.app.audit?.chain ?? '', 0, 10_000);
    expect(rows.map((r) => r.event).join('\n')).not.toContain(token);
  });

  it('records a chat completion before answering, and its receipt names that event', async () => {
    const res = await chat({});
    expect(res.statusCode).toBe(200);
    const receipt = res.headers['gatehouse-receipt'];
    expect(typeof receipt).toBe('string');
    const text = res.json<{ choices: { message: { content: string } }[] }>().choices[0]?.message
      .content;
    const claims = await verifyReceipt(String(receipt), f.app.auth.keys.jwks(), {
      prompt: MESSAGES,
      output: text ?? '',
      issuer: f.config.auth.issuer,
    });
    const event = (await events()).find((e) => e.seq === claims.seq);
    expect(event).toMatchObject({
      action: 'inference:invoke',
      resource: 'model:echo',
      decision: 'allow',
      reason: 'allowed: role developer grants inference:invoke on echo',
      status: 200,
      clientId,
      promptSha256: promptSha256(MESSAGES),
      outputSha256: textOutputSha256(text ?? ''),
    });
    expect(event?.requestId).toBe(claims.request_id);
    expect(event?.usage?.completionTokens).toBeGreaterThan(0);
    expect(claims).toMatchObject({ sub: clientId, client_id: clientId, model: 'echo' });
    // The prompt text is in no stored event.
    const rows = await f.app.store.audit.events(claims.chain, 0, 10_000);
    expect(rows.map((r) => r.event).join('\n')).not.toContain('alice@example.com');
  });

  it('streams the receipt as an SSE comment just before [DONE], naming a recorded event', async () => {
    const res = await chat({ stream: true });
    expect(res.statusCode).toBe(200);
    const lines = res.body.split('\n\n').filter((l) => l !== '');
    expect(lines.at(-1)).toBe('data: [DONE]');
    const comment = lines.at(-2) ?? '';
    expect(comment).toMatch(/^: gatehouse-receipt \S+$/);
    const text = lines
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { choices: { delta?: { content?: string } }[] })
      .map((c) => c.choices[0]?.delta?.content ?? '')
      .join('');
    const claims = await verifyReceipt(
      comment.slice(': gatehouse-receipt '.length),
      f.app.auth.keys.jwks(),
      {
        output: text,
      },
    );
    expect((await events()).find((e) => e.seq === claims.seq)?.outputSha256).toBe(
      textOutputSha256(text),
    );
  });

  it('records a policy denial with its reason (the reason never reaches the caller)', async () => {
    const res = await chat({ model: 'use-lite' });
    expect(res.statusCode).toBe(404);
    const narrow = await requestToken(f, await f.client({ roles: ['auditor'] }));
    const auditor = narrow.json<{ access_token: string }>().access_token;
    const denied = await chat({}, `Bearer ${auditor}`);
    expect(denied.statusCode).toBe(403);
    expect(denied.body).not.toContain('no role grants');
    expect(denied.headers['gatehouse-receipt']).toBeUndefined();
    const event = (await events()).find((e) => e.status === 403);
    expect(event).toMatchObject({
      decision: 'deny',
      roles: ['auditor'],
      action: 'inference:invoke',
      resource: 'model:echo',
    });
    expect(event?.reason).toMatch(/^denied: /);
    expect((await events()).find((e) => e.status === 404)).toMatchObject({
      decision: 'error',
      reason: 'refused: model_not_found',
    });
  });

  it('aggregates refusals of unidentified callers instead of writing one event each', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await chat({}, 'Bearer not.a.token');
      expect(res.statusCode).toBe(401);
    }
    // One event for the 50, once the interval (100 ms here) ends.
    await vi.waitFor(
      async () => {
        const agg = (await events()).filter((e) => e.reason === 'aggregated: malformed');
        expect(agg).toHaveLength(1);
        expect(agg[0]).toMatchObject({
          status: 401,
          decision: 'deny',
          subject: null,
          action: 'inference:invoke',
          details: { aggregated: true, count: 50 },
        });
      },
      { timeout: 5000, interval: 50 },
    );
  });
});

describe('audit stage, store failing', () => {
  let f: Fixture;
  let store: Store;
  let down: { on: boolean };
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'gh-audit-fault-'));

  beforeAll(async () => {
    const real = await openStore({ dataDir: dir });
    const wrapped = faulty(real);
    store = real;
    down = wrapped.down;
    f = await startApp({
      config: { models: [ECHO], audit: { anonymousIntervalMs: 100 } },
      realClock: true,
      overrides: { store: wrapped.store },
    });
    const res = await requestToken(f, await f.client());
    token = res.json<{ access_token: string }>().access_token;
  });
  afterAll(async () => {
    await f.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const chat = () =>
    f.app.http.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { model: 'echo', messages: MESSAGES, max_tokens: 4 },
    });

  it('answers 503 instead of an unrecorded response, reports not ready, and resumes by itself', async () => {
    expect((await chat()).statusCode).toBe(200);
    down.on = true;
    const refused = await chat();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['gatehouse-receipt']).toBeUndefined();
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error: {
        message: 'The audit log is unavailable; the request was not processed',
        type: 'service_unavailable_error',
        param: null,
        code: 'audit_unavailable',
      },
    });
    expect(refused.body).not.toContain('choices');
    const ready = await f.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', audit: 'unavailable' });
    // A token grant is refused too: no token leaves unrecorded.
    const grant = await requestToken(f, await f.client());
    expect(grant.statusCode).toBe(503);
    expect(grant.body).not.toContain('access_token');
    down.on = false;
    // With no traffic at all (a load balancer that saw /readyz fail sends none), the replica
    // tries again by itself, records the outage, and is ready again.
    await vi.waitFor(
      async () => {
        expect((await f.app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      },
      { timeout: 10_000, interval: 200 },
    );
    const log = f.app.audit;
    const rows = await store.audit.events(log?.chain ?? '', 0, 1000);
    const resumed = rows
      .map((r) => JSON.parse(r.event) as Stored)
      .find((e) => e.action === 'audit.resume');
    expect(resumed?.details?.unavailableMs).toBeGreaterThanOrEqual(0);
    expect((await chat()).statusCode).toBe(200);
  });
});

describe('policy reloads are audited', () => {
  it('records each reload with the file digest, and a refused edit as a denial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-audit-policy-'));
    const file = writePolicy(dir, builtinPolicyText());
    const f = await startApp({ config: { policy: { file } }, realClock: true });
    try {
      const chain = f.app.audit?.chain ?? '';
      const events = async () =>
        (await f.app.store.audit.events(chain, 0, 1000)).map((r) => JSON.parse(r.event) as Stored);
      const edited = RESTRICTED;
      writeFileSync(file, edited);
      f.app.policy.check();
      writeFileSync(file, 'roles:\n  developer:\n    scopez: []\n');
      f.app.policy.check();
      await vi.waitFor(
        async () => {
          // (The file watcher may have seen an edit too; a reload is recorded once per change.)
          const reloads = (await events()).filter((e) => e.action === 'policy.reload');
          expect(reloads.find((e) => e.decision === 'allow')).toMatchObject({
            resource: `policy:${sha256Hex(edited)}`,
            reason: `policy reloaded from ${file}`,
          });
          expect(reloads.find((e) => e.decision === 'deny')?.reason).toMatch(
            /last good policy kept/,
          );
        },
        { timeout: 5000, interval: 50 },
      );
    } finally {
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a key rotated by the CLI', () => {
  it('signs the receipts of a running server within auth.revocationSyncInterval', async () => {
    const f = await startApp({
      config: { models: [ECHO], auth: { revocationSyncInterval: 1 } },
      realClock: true,
    });
    try {
      const res = await requestToken(f, await f.client());
      const token = res.json<{ access_token: string }>().access_token;
      const receiptKid = async () => {
        const r = await f.app.http.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: { model: 'echo', messages: MESSAGES, max_tokens: 2 },
        });
        const jws = String(r.headers['gatehouse-receipt']).split('~')[0] ?? '';
        return decodeProtectedHeader(jws).kid;
      };
      const before = await receiptKid();
      // As `gatehouse keys rotate --immediate` does it: another key ring over the same store.
      const other = await openStore({ dataDir: f.config.dataDir });
      const kid = await openKeyRing(f.config, other, Date.now)
        .then((cli) => cli.rotate(undefined, 0))
        .finally(() => other.close());
      expect(kid).not.toBe(before);
      await vi.waitFor(
        async () => {
          expect(await receiptKid()).toBe(kid);
        },
        { timeout: 10_000, interval: 200 },
      );
    } finally {
      await f.close();
    }
  });
});
