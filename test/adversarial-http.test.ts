/**
 * @module test/adversarial-http — malicious access tokens (test/support/hostile-tokens) sent to a
 * protected route of the real app through `inject()`. Every one must get the same generic
 * RFC 6750 challenge and OpenAI-shaped 401 that echo nothing of the token, while the log records
 * the exact reason; a key server named in `jku`/`x5u` must never be contacted; and a flood of
 * unknown `kid`s must not become a flood of key-ring queries to the store.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/lib/logger.js';
import { attackerEc } from './support/adversary.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';
import { signed, validClaims, validHeader } from './support/app-tokens.js';
import { HOSTILE_TOKENS } from './support/hostile-tokens.js';
import { forge } from './support/jws.js';

const CHALLENGE =
  'Bearer realm="gatehouse", error="invalid_token", error_description="The access token is invalid"';
const BODY = {
  error: {
    message: 'The access token is invalid',
    type: 'authentication_error',
    param: null,
    code: 'invalid_token',
  },
};

function getModels(f: Fixture, token: string) {
  return f.app.http.inject({
    method: 'GET',
    url: '/v1/models',
    headers: { authorization: `Bearer ${token}` },
  });
}

/** The token, and each long segment of it on its own: echoing any of them is a leak. */
function secretsOf(token: string): string[] {
  return [token, ...token.split('.').filter((s) => s.length >= 16)];
}

describe('hostile tokens at GET /v1/models', () => {
  let f: Fixture;
  let start: number;
  const log: string[] = [];
  let attacker: Server;
  let attackerUrl = '';
  let attackerRequests = 0;
  let attackerConnections = 0;

  beforeAll(async () => {
    attacker = createServer((_req, res) => {
      attackerRequests += 1;
      const jwk = attackerEc().jwk;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...jwk, kid: 'evil', alg: 'ES256', use: 'sig' }] }));
    });
    attacker.on('connection', () => {
      attackerConnections += 1;
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        log.push(chunk.toString('utf8'));
        done();
      },
    });
    f = await startApp({ overrides: { logger: createLogger('info', sink) } });
    start = f.now;
  });
  afterEach(() => {
    f.now = start;
  });
  afterAll(async () => {
    await f.close();
    attacker.closeAllConnections();
    await new Promise<void>((resolve) =>
      attacker.close(() => {
        resolve();
      }),
    );
  });

  it('has an attacker key server that answers (so zero requests below means it was not asked)', async () => {
    const res = await fetch(`${attackerUrl}/jwks.json`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(attackerRequests).toBe(1);
    attackerRequests = 0;
    attackerConnections = 0;
  });

  it('holds at least 45 distinct hostile tokens', () => {
    const names = HOSTILE_TOKENS.map((t) => t.name);
    expect(names.length).toBeGreaterThanOrEqual(45);
    expect(new Set(names).size).toBe(names.length);
  });

  it('accepts a token from the token endpoint (positive control)', async () => {
    const { id, secret } = await f.client();
    const res = await requestToken(f, { id, secret });
    expect(res.statusCode).toBe(200);
    const ok = await getModels(f, res.json<{ access_token: string }>().access_token);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ object: 'list', data: [] });
  });

  it('accepts a token the hostile builders make with nothing wrong (positive control)', async () => {
    const res = await getModels(f, signed(f, validHeader(f), validClaims(f)));
    expect(res.statusCode).toBe(200);
  });

  it.each(HOSTILE_TOKENS)('refuses $name', async ({ build, reason }) => {
    const token = await build({ f, attackerUrl });
    const mark = log.length;
    const res = await getModels(f, token);

    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    expect(res.json()).toEqual(BODY);
    const headers = Object.entries(res.headers).map(([k, v]) => `${k}: ${String(v)}`);
    for (const secret of secretsOf(token)) {
      expect(res.body).not.toContain(secret);
      for (const h of headers) expect(h).not.toContain(secret);
    }

    // Refused for the reason the case is about, not by accident of how it was built.
    const lines = log.slice(mark);
    const rejected = lines
      .map((l) => JSON.parse(l) as { msg?: string; reason?: string })
      .filter((l) => l.msg === 'token rejected');
    expect(rejected.map((l) => l.reason)).toEqual([reason]);
    for (const secret of secretsOf(token)) expect(lines.join('')).not.toContain(secret);
  });

  it('never contacted the attacker key server named in jku or x5u', () => {
    // Runs after the table (tests in a file run in order).
    expect(attackerConnections).toBe(0);
    expect(attackerRequests).toBe(0);
  });

  it('still accepts a valid token after the whole catalogue (nothing was poisoned)', async () => {
    const res = await getModels(f, signed(f, validHeader(f), validClaims(f)));
    expect(res.statusCode).toBe(200);
  });
});

describe('a flood of unknown kids', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApp();
  });
  afterAll(async () => {
    await f.close();
  });

  it('refuses 200 random kids and checks the store for new keys at most once per second of clock', async () => {
    const keys = f.app.auth.keys;
    // Every check for a rotation is one revision query on the store: count those.
    const revision = vi.spyOn(f.app.store.keys, 'revision');
    const spy = vi.spyOn(keys, 'refresh');
    const { privateKey } = attackerEc();
    const perSecond: number[] = [];
    try {
      for (let second = 0; second < 4; second++) {
        const before = revision.mock.calls.length;
        for (let i = 0; i < 50; i++) {
          const header = { alg: 'ES256', kid: randomUUID(), typ: 'at+jwt' };
          const res = await getModels(f, forge(header, validClaims(f), 'ES256', privateKey));
          expect(res.statusCode).toBe(401);
        }
        perSecond.push(revision.mock.calls.length - before);
        f.now += 1000;
      }
      // Every token reached the key lookup, which asked the ring to refresh each time.
      expect(spy).toHaveBeenCalledTimes(200);
    } finally {
      spy.mockRestore();
      revision.mockRestore();
    }
    expect(perSecond).toHaveLength(4);
    for (const n of perSecond) expect(n).toBeLessThanOrEqual(1);
    // The clock moved a full second three times, so at least three checks were due.
    expect(perSecond.reduce((a, n) => a + n, 0)).toBeGreaterThanOrEqual(3);
    expect((await getModels(f, signed(f, validHeader(f), validClaims(f)))).statusCode).toBe(200);
  });
});
