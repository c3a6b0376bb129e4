/**
 * @module audit/chain.test — the fixed-shape event encoder writes exactly the bytes of the
 * general RFC 8785 `canonicalize` over the same body, for any event (the chain definition).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, type Canonical } from './canonical.js';
import { eventBody, eventText, linkHash, ZERO_HASH } from './chain.js';
import { anEvent } from './fixtures.js';
import type { AuditEventInput } from './types.js';

const text = fc.string({ unit: 'binary', maxLength: 24 });
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const num = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const plain = fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<
  Record<string, unknown>
>;

const event: fc.Arbitrary<AuditEventInput> = fc.record({
  time: fc.integer({ min: 0, max: 2 ** 50 }),
  requestId: orNull(text),
  issuer: orNull(text),
  subject: orNull(text),
  clientId: orNull(text),
  roles: fc.array(text, { maxLength: 4 }),
  action: text,
  resource: orNull(text),
  decision: fc.constantFrom('allow' as const, 'deny' as const, 'error' as const),
  reason: text,
  status: orNull(fc.integer({ min: 100, max: 599 })),
  latencyMs: orNull(num),
  source: orNull(text),
  usage: orNull(fc.record({ promptTokens: fc.nat(), completionTokens: fc.nat() })),
  promptSha256: orNull(text),
  outputSha256: orNull(text),
  guard: orNull(plain),
  details: orNull(plain),
});

describe('eventText', () => {
  it('equals canonicalize(eventBody(…)) for any event, chain and seq', () => {
    fc.assert(
      fc.property(event, text, fc.integer({ min: 1, max: 2 ** 53 - 1 }), (e, chain, seq) => {
        expect(eventText(e, chain, seq)).toBe(canonicalize(eventBody(e, chain, seq)));
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the general path for shapes the fast path does not know, with the same bytes', () => {
    const odd = [
      anEvent({ usage: { promptTokens: 1, completionTokens: 2, extra: 3 } as never }),
      anEvent({ usage: { completionTokens: 2 } as never }),
      anEvent({ roles: [1, 'x'] as never }),
      anEvent({ reason: undefined as never }),
      anEvent({ subject: 7 as never, details: { b: [1, { d: 2, c: 1 }], a: null } }),
    ];
    for (const e of odd) {
      expect(eventText(e, 'r', 3)).toBe(canonicalize(eventBody(e, 'r', 3)));
    }
    expect(eventText(anEvent({ reason: undefined as never }), 'r', 1)).not.toContain('"reason"');
  });

  it('refuses values JSON cannot carry, as canonicalize does', () => {
    expect(() => eventText(anEvent({ latencyMs: Number.NaN }), 'r', 1)).toThrow(TypeError);
    const inf = anEvent({ usage: { promptTokens: Infinity, completionTokens: 1 } });
    expect(() => eventText(inf, 'r', 1)).toThrow(TypeError);
  });

  it('keeps the documented link hash of a known event', () => {
    const e = anEvent({ requestId: 'req-1' });
    const expected = canonicalize({
      ...(e as unknown as Record<string, Canonical>),
      chain: 'replica-a',
      seq: 1,
    });
    expect(eventText(e, 'replica-a', 1)).toBe(expected);
    // Pinned: computed with the general encoder before the fixed-shape one existed.
    expect(linkHash(eventText(e, 'replica-a', 1), ZERO_HASH)).toBe(
      '6886bac573deebea24e15ec312875d0f380a0304a34937019ac52ca906eee937',
    );
  });
});
