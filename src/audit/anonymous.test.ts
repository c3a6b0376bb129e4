import { describe, expect, it } from 'vitest';
import { AnonymousFailures, type AnonymousRefusal } from './anonymous.js';
import type { AuditEventInput } from './types.js';

const refusal = (over: Partial<AnonymousRefusal> = {}): AnonymousRefusal => ({
  action: 'inference:invoke',
  reason: 'bad_signature',
  clientId: null,
  source: '203.0.113.7',
  status: 401,
  ...over,
});

function setup(maxKeys = 3) {
  let now = 1_000;
  const events: AuditEventInput[] = [];
  const errors: unknown[] = [];
  let fail = false;
  const agg = new AnonymousFailures({
    record: (e) => {
      if (fail) return Promise.reject(new Error('store down'));
      events.push(e);
      return Promise.resolve();
    },
    clock: () => now,
    intervalMs: 60_000,
    maxKeys,
    onError: (err) => errors.push(err),
  });
  return {
    agg,
    events,
    errors,
    tick: (ms: number) => (now += ms),
    failWrites: () => (fail = true),
  };
}

describe('aggregated anonymous refusals', () => {
  it('writes one event per (action, reason, status, client, source) with its exact count', async () => {
    const { agg, events, tick } = setup(10);
    for (let i = 0; i < 500; i++) agg.note(refusal());
    tick(5);
    agg.note(refusal({ reason: 'expired' }));
    agg.note(
      refusal({ action: 'token.issue', reason: 'invalid_client', clientId: 'c1', status: 401 }),
    );
    await agg.flush();
    expect(events).toHaveLength(3);
    const bad = events.find((e) => e.reason === 'aggregated: bad_signature');
    expect(bad).toMatchObject({
      decision: 'deny',
      status: 401,
      action: 'inference:invoke',
      subject: null,
      source: '203.0.113.7',
      requestId: null,
      details: {
        aggregated: true,
        count: 500,
        firstAt: 1_000,
        lastAt: 1_000,
        clientIdVerified: false,
      },
    });
    expect(events.find((e) => e.action === 'token.issue')).toMatchObject({
      clientId: 'c1',
      details: { count: 1 },
    });
  });

  it('bounds the events of an interval: keys beyond maxKeys fold into one catch-all per reason, counts kept', async () => {
    const { agg, events } = setup(3);
    for (let i = 0; i < 10_000; i++) agg.note(refusal({ source: `10.0.${i >> 8}.${i & 255}` }));
    await agg.flush();
    expect(events).toHaveLength(4);
    const total = events.reduce((n, e) => n + Number(e.details?.count), 0);
    expect(total).toBe(10_000);
    const other = events.find((e) => e.source === null);
    expect(other?.details?.count).toBe(9_997);
  });

  it('writes nothing when nothing was refused, and starts a new interval after a flush', async () => {
    const { agg, events } = setup();
    await agg.flush();
    expect(events).toHaveLength(0);
    agg.note(refusal());
    await agg.flush();
    agg.note(refusal());
    await agg.flush();
    expect(events.map((e) => e.details?.count)).toEqual([1, 1]);
  });

  it('reports a failed write and never throws at the caller', async () => {
    const { agg, errors, failWrites } = setup();
    failWrites();
    agg.note(refusal());
    await expect(agg.flush()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
