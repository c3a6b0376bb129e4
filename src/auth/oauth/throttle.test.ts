import { describe, expect, it } from 'vitest';
import { MemoryThrottle, sourceKey, type ThrottleLimits } from './throttle.js';

const LIMITS: ThrottleLimits = {
  windowMs: 60_000,
  perClientSource: 3,
  perSource: 5,
  perClient: 8,
  knownMs: 3_600_000,
  maxTracked: 1000,
};

const T = 1_000_000;

describe('MemoryThrottle', () => {
  it('the Nth failure of a pair brings a refusal until the window ends', async () => {
    const t = new MemoryThrottle(LIMITS);
    const a = { clientId: 'c1', source: '10.0.0.1' };
    expect(await t.failed(a, T)).toBeUndefined();
    expect(await t.failed(a, T + 1000)).toBeUndefined();
    expect(await t.failed(a, T + 2000)).toEqual({ scope: 'client_source', retryAfter: 58 });
    expect((await t.check(a, T + 30_000)).throttled).toEqual({
      scope: 'client_source',
      retryAfter: 30,
    });
    // The window ends: the pair may try again.
    expect((await t.check(a, T + 60_000)).throttled).toBeUndefined();
    // Another source for the same client is not held by the pair counter.
    expect((await t.check({ clientId: 'c1', source: '10.0.0.2' }, T)).throttled).toBeUndefined();
  });

  it('holds a source that tries many client ids', async () => {
    const t = new MemoryThrottle(LIMITS);
    for (let i = 0; i < 5; i++) await t.failed({ clientId: `c${i}`, source: '10.0.0.9' }, T);
    expect((await t.check({ clientId: 'fresh', source: '10.0.0.9' }, T)).throttled?.scope).toBe(
      'source',
    );
    expect(
      (await t.check({ clientId: 'fresh', source: '10.0.0.10' }, T)).throttled,
    ).toBeUndefined();
  });

  it('holds a client id guessed from many sources — except from sources it used before', async () => {
    const t = new MemoryThrottle(LIMITS);
    const home = { clientId: 'victim', source: '192.0.2.1' };
    await t.succeeded(home, T);
    for (let i = 0; i < 8; i++) await t.failed({ clientId: 'victim', source: `10.1.0.${i}` }, T);
    expect((await t.check({ clientId: 'victim', source: '10.9.9.9' }, T)).throttled?.scope).toBe(
      'client',
    );
    const verdict = await t.check(home, T);
    expect(verdict).toEqual({ throttled: undefined, known: true });
    // The lock on the client id ends with its window.
    expect(
      (await t.check({ clientId: 'victim', source: '10.9.9.9' }, T + 60_000)).throttled,
    ).toBeUndefined();
  });

  it('does not let a flood from a shared address lock out a known pair there', async () => {
    const t = new MemoryThrottle(LIMITS);
    const nat = '198.51.100.7';
    await t.succeeded({ clientId: 'legit', source: nat }, T);
    for (let i = 0; i < 50; i++) await t.failed({ clientId: `guess-${i}`, source: nat }, T);
    expect((await t.check({ clientId: 'other', source: nat }, T)).throttled?.scope).toBe('source');
    expect((await t.check({ clientId: 'legit', source: nat }, T)).throttled).toBeUndefined();
  });

  it('a success clears the pair and a known pair is held only by its own counter', async () => {
    const t = new MemoryThrottle(LIMITS);
    const a = { clientId: 'c', source: '10.0.0.1' };
    await t.failed(a, T);
    await t.failed(a, T);
    await t.succeeded(a, T);
    expect(await t.failed(a, T)).toBeUndefined();
    expect(await t.failed(a, T)).toBeUndefined();
    expect((await t.failed(a, T))?.scope).toBe('client_source');
  });

  it('keeps memory bounded while an attacker rotates client ids and addresses', async () => {
    const t = new MemoryThrottle({ ...LIMITS, maxTracked: 500 });
    for (let i = 0; i < 20_000; i++) {
      await t.failed(
        { clientId: `id-${i}`, source: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` },
        T,
      );
    }
    const sizes = t.tracked;
    expect(sizes.pairs).toBeLessThanOrEqual(500);
    expect(sizes.sources).toBeLessThanOrEqual(500);
    expect(sizes.clients).toBeLessThanOrEqual(500);
    expect(sizes.known).toBe(0);
  });
});

describe('sourceKey', () => {
  it.each([
    ['203.0.113.5', '203.0.113.5'],
    ['::ffff:203.0.113.5', '203.0.113.5'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s counts as %s', (ip, key) => {
    expect(sourceKey(ip)).toBe(key);
  });
});
