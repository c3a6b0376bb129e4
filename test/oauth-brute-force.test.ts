/**
 * Bad-secret floods and brute force at the token endpoint (RFC 6749 §2.3.1, §10.10): a bound on
 * concurrent secret checks that never holds up a cached grant or a protected request, 429 with
 * Retry-After after repeated failures per (client, source), per source and per client id, and no
 * lockout of a client from the source it normally uses. No timings: outcomes and ordering only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientAuthRefusal, SecretCheck } from '../src/auth/index.js';
import { verifySecret } from '../src/auth/secrets.js';
import { basic, form } from './support/app-fixture.js';
import { startApp, type Fixture } from './support/app-fixture.js';

type Reply = Awaited<ReturnType<Fixture['app']['http']['inject']>>;

let app: Fixture | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function grant(a: Fixture, c: { id: string; secret: string }, remoteAddress = '192.0.2.10') {
  return a.app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress,
    headers: {
      authorization: basic(c.id, c.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: form({ grant_type: 'client_credentials' }),
  });
}

function models(a: Fixture, token: string) {
  return a.app.http.inject({
    method: 'GET',
    url: '/v1/models',
    headers: { authorization: `Bearer ${token}` },
  });
}

function expectRefusal(res: Reply, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(res.json()).toEqual({ error, error_description: expect.any(String) as string });
}

/** A secret check that runs the real scrypt, but only once the gate opens. */
function gate() {
  let closed = false;
  const held: (() => void)[] = [];
  const check: SecretCheck = async (secret, stored) => {
    if (closed) await new Promise<void>((resolve) => held.push(resolve));
    return verifySecret(secret, stored);
  };
  return {
    check,
    close: () => {
      closed = true;
    },
    open: () => {
      closed = false;
      for (const release of held.splice(0)) release();
    },
  };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

describe('a flood of wrong secrets', () => {
  it('does not hold up a cached grant or a protected request while its checks are pending', async () => {
    const g = gate();
    const refusals: ClientAuthRefusal[] = [];
    app = await startApp({
      config: { auth: { clientAuth: { hashThreads: 1, hashQueue: 8 } } },
      overrides: { auth: { secretCheck: g.check, onRefusal: (r) => refusals.push(r) } },
    });
    const a = app;
    const legit = await a.client();
    expect((await grant(a, legit)).statusCode).toBe(200); // now its secret is cached
    g.close();
    // 64 concurrent wrong secrets, each from its own address so that no throttle cuts them.
    const flood = Array.from({ length: 64 }, (_, i) =>
      grant(a, { id: legit.id, secret: `wrong-${i}` }, `10.0.${i}.1`),
    );
    await until(() => a.app.auth.secretChecks.queued === 8);
    expect(a.app.auth.secretChecks.running).toBe(1);

    const res = await grant(a, legit);
    expect(res.statusCode).toBe(200);
    const fresh = res.json<{ access_token: string }>().access_token;
    // A token never seen before: a full, uncached signature check.
    expect((await models(a, fresh)).statusCode).toBe(200);
    // All of that while the flood's checks were still running and queued.
    expect(a.app.auth.secretChecks.running).toBe(1);
    expect(a.app.auth.secretChecks.queued).toBe(8);

    g.open();
    const replies = await Promise.all(flood);
    const statuses = replies.map((r) => r.statusCode);
    // One ran, eight waited, the rest were refused at once without a check.
    expect(statuses.filter((s) => s === 401)).toHaveLength(9);
    expect(statuses.filter((s) => s === 503)).toHaveLength(55);
    expectRefusal(
      replies.find((r) => r.statusCode === 503)!,
      503,
      'temporarily_unavailable',
    );
    expect(refusals).toHaveLength(55);
    expect(refusals[0]).toMatchObject({ reason: 'busy', clientId: legit.id, retryAfter: 1 });
  });
});

describe('throttling of failed client authentication', () => {
  const limits = {
    maxFailuresPerClientSource: 3,
    maxFailuresPerSource: 6,
    maxFailuresPerClient: 10,
    failureWindow: 3600,
    refusalDelayMs: 0,
  };

  it('answers the Nth failure of a (client, source) pair with 429 and Retry-After', async () => {
    const refusals: ClientAuthRefusal[] = [];
    app = await startApp({
      config: { auth: { clientAuth: limits } },
      overrides: { auth: { onRefusal: (r) => refusals.push(r) } },
    });
    const c = await app.client();
    const wrong = { id: c.id, secret: 'nope' };
    expect((await grant(app, wrong, '203.0.113.1')).statusCode).toBe(401);
    expect((await grant(app, wrong, '203.0.113.1')).statusCode).toBe(401);
    const third = await grant(app, wrong, '203.0.113.1');
    expectRefusal(third, 429, 'invalid_request');
    expect(third.headers['retry-after']).toBe('3600');
    // Held: not even the right secret is checked from there …
    expectRefusal(await grant(app, c, '203.0.113.1'), 429, 'invalid_request');
    // … but the client is not locked out from another address.
    expect((await grant(app, c, '203.0.113.2')).statusCode).toBe(200);
    expect(refusals.map((r) => [r.reason, r.scope])).toEqual([
      ['throttled', 'client_source'],
      ['throttled', 'client_source'],
    ]);
    // The block ends with its window.
    app.now += 3600 * 1000;
    expect((await grant(app, c, '203.0.113.1')).statusCode).toBe(200);
  });

  it('holds one address that tries many client ids, not the others', async () => {
    app = await startApp({ config: { auth: { clientAuth: limits } } });
    const c = await app.client();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      codes.push(
        (await grant(app, { id: `gh_guess${i}`, secret: 'x' }, '198.51.100.9')).statusCode,
      );
    }
    expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
    expectRefusal(await grant(app, c, '198.51.100.9'), 429, 'invalid_request');
    expect((await grant(app, c, '198.51.100.10')).statusCode).toBe(200);
  });

  it('does not lock a client out of its usual source when its id is guessed from everywhere', async () => {
    const refusals: ClientAuthRefusal[] = [];
    app = await startApp({
      config: { auth: { clientAuth: limits } },
      overrides: { auth: { onRefusal: (r) => refusals.push(r) } },
    });
    const victim = await app.client();
    const home = '192.0.2.77';
    expect((await grant(app, victim, home)).statusCode).toBe(200);
    // Ten addresses, one failure each: under the pair and source limits, at the client limit.
    for (let i = 0; i < 10; i++) {
      await grant(app, { id: victim.id, secret: 'guess' }, `10.20.${i}.1`);
    }
    // Past the secret cache's lifetime, so every attempt below really is checked.
    app.now += 10 * 60 * 1000;
    expectRefusal(await grant(app, victim, '10.99.0.1'), 429, 'invalid_request');
    expect(refusals.at(-1)).toMatchObject({ scope: 'client', clientId: victim.id });
    expect((await grant(app, victim, home)).statusCode).toBe(200);
    // And the lock on the id is not for ever.
    app.now += 3600 * 1000;
    expect((await grant(app, victim, '10.99.0.1')).statusCode).toBe(200);
  });

  it('lets a cached secret through even from an address that is held', async () => {
    app = await startApp({ config: { auth: { clientAuth: limits } } });
    const c = await app.client();
    const nat = '198.51.100.200';
    expect((await grant(app, c, nat)).statusCode).toBe(200);
    for (let i = 0; i < 6; i++) await grant(app, { id: `gh_other${i}`, secret: 'x' }, nat);
    expect((await grant(app, { id: 'gh_another', secret: 'x' }, nat)).statusCode).toBe(429);
    expect((await grant(app, c, nat)).statusCode).toBe(200);
  });
});
