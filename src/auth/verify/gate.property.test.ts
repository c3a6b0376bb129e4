/**
 * Property tests for the structural gate and the Verifier: (a) no input makes the gate throw
 * anything but a TokenError; (b) no single-character change of a valid token verifies; (c) for
 * arbitrary claim sets the verifier accepts exactly when the RFC 7519/9068 rules hold.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createVerifierFixture,
  MAX_LIFETIME,
  MAX_TOKEN_BYTES,
  OWN_ISSUER,
  SKEW,
  type VerifierFixture,
} from '../../../test/support/verifier-fixture.js';
import { b64u, segment } from '../../../test/support/jws.js';
import { TokenError, type TokenRejection } from './errors.js';
import { gate } from './gate.js';

let fx: VerifierFixture;
beforeAll(async () => {
  fx = await createVerifierFixture();
});
afterAll(async () => {
  await fx.close();
});

/** Runs the gate; returns the TokenError it threw, or fails the property if it threw anything else. */
function gateOutcome(token: string): 'passed' | TokenError {
  try {
    gate(token, MAX_TOKEN_BYTES);
    return 'passed';
  } catch (err) {
    expect(err).toBeInstanceOf(TokenError);
    return err as TokenError;
  }
}

async function verifyOutcome(token: string): Promise<'accepted' | TokenRejection> {
  return fx.verifier.verify(token).then(
    () => 'accepted' as const,
    (err: unknown) => {
      expect(err).toBeInstanceOf(TokenError);
      return (err as TokenError).reason;
    },
  );
}

const B64URL_CHARS = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/** Header members an attacker would try, with hostile and benign values. */
const headerArb = fc
  .record(
    {
      alg: fc.oneof(fc.constantFrom('ES256', 'none', 'HS256', 'RS256', 'EdDSA'), fc.jsonValue()),
      kid: fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue()),
      typ: fc.oneof(fc.constantFrom('at+jwt', 'JWT', 'dpop+jwt'), fc.jsonValue()),
      jwk: fc.jsonValue(),
      jku: fc.webUrl(),
      crit: fc.array(fc.string()),
      b64: fc.boolean(),
      zip: fc.constant('DEF'),
      extra: fc.dictionary(
        fc.oneof(
          fc.string(),
          fc.constantFrom('__proto__', 'constructor', 'x5c', 'x5u', 'enc', 'p2c'),
        ),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...members }) => ({ ...extra, ...members }));

/** Three base64url segments made from arbitrary JSON (objects, arrays, scalars) and bytes. */
const structuredArb = fc
  .tuple(
    fc.oneof(headerArb, fc.jsonValue()),
    fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    fc.uint8Array({ maxLength: 300 }),
  )
  .map(([h, p, s]) => `${segment(h)}.${segment(p)}.${b64u(s)}`);

/** Strings that look like tokens: base64url-ish runs joined by dots, with stray characters. */
const tokenishArb = fc
  .array(
    fc.string({
      unit: fc.constantFrom(...B64URL_CHARS, '=', '+', '/', '.', ' ', '\u0000', '\u00e9'),
      maxLength: 60,
    }),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((parts) => parts.join('.'));

describe('(a) the gate throws nothing but TokenError', () => {
  const cases: [string, fc.Arbitrary<string>][] = [
    ['ASCII strings', fc.string({ maxLength: 500 })],
    [
      'full Unicode strings (code points, lone surrogates)',
      fc.string({ unit: 'binary', maxLength: 500 }),
    ],
    ['grapheme strings', fc.string({ unit: 'grapheme', maxLength: 200 })],
    ['three segments of arbitrary JSON', structuredArb],
    ['token-like strings', tokenishArb],
  ];
  for (const [name, arb] of cases) {
    it(`for ${name}`, () => {
      fc.assert(
        fc.property(arb, (input) => {
          const outcome = gateOutcome(input);
          if (outcome === 'passed') {
            // Whatever passes the gate has a usable header and no key-carrying member.
            const { header } = gate(input, MAX_TOKEN_BYTES);
            expect(typeof header.alg).toBe('string');
            expect(header.kid).toMatch(/^[\x21-\x7e]{1,128}$/);
            expect(input.split('.')).toHaveLength(3);
          }
        }),
        { numRuns: 1000 },
      );
    });
  }

  it('the full verifier also only ever rejects with TokenError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(structuredArb, tokenishArb, fc.string({ unit: 'binary' })),
        async (input) => {
          expect(await verifyOutcome(input)).not.toBe('accepted');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('survives deeply nested JSON within the size limit', () => {
    const { kid } = fx.ring.signingKey();
    const header = b64u(JSON.stringify({ alg: 'ES256', kid, typ: 'at+jwt' }));
    const nested = `{"x":${'['.repeat(2500)}${']'.repeat(2500)}}`;
    const token = `${header}.${b64u(nested)}.${b64u('s')}`;
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
    expect(gateOutcome(token)).toBe('passed');
    const unclosed = `${header}.${b64u(`{"x":${'['.repeat(5000)}`)}.${b64u('s')}`;
    expect(gateOutcome(unclosed)).toMatchObject({ reason: 'bad_claims' });
  });
});

describe('(b) no single-character mutation of a valid token verifies', () => {
  interface Mutation {
    kind: 'replace' | 'insert' | 'delete';
    at: number;
    ch: string;
  }

  /** Positions worth extra attention: the last characters of each segment carry trailing bits. */
  function mutationArb(token: string): fc.Arbitrary<Mutation> {
    const ends: number[] = [];
    let i = token.indexOf('.');
    while (i !== -1) {
      ends.push(i - 1, i - 2);
      i = token.indexOf('.', i + 1);
    }
    ends.push(token.length - 1, token.length - 2);
    return fc.record({
      kind: fc.constantFrom('replace', 'replace', 'insert', 'delete'),
      at: fc.oneof(fc.nat({ max: token.length - 1 }), fc.constantFrom(...ends)),
      ch: fc.constantFrom(...B64URL_CHARS, '.', '=', '+', '/', ' '),
    });
  }

  function apply(token: string, m: Mutation): string {
    const head = token.slice(0, m.at);
    if (m.kind === 'insert') return head + m.ch + token.slice(m.at);
    if (m.kind === 'delete') return head + token.slice(m.at + 1);
    return head + m.ch + token.slice(m.at + 1);
  }

  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`${alg}: every mutated token is refused, while the original keeps verifying`, async () => {
      const f = alg === 'ES256' ? fx : await createVerifierFixture({ alg });
      try {
        const { token, jti } = await f.mint();
        await expect(f.verifier.verify(token)).resolves.toMatchObject({ jti });
        let trailingBitTwins = 0;
        await fc.assert(
          fc.asyncProperty(mutationArb(token), async (m) => {
            const mutated = apply(token, m);
            fc.pre(mutated !== token);
            const sig = token.split('.')[2] ?? '';
            const mutatedSig = mutated.split('.')[2] ?? '';
            if (
              m.at >= token.length - 2 &&
              mutatedSig.length === sig.length &&
              Buffer.from(mutatedSig, 'base64url').equals(Buffer.from(sig, 'base64url'))
            ) {
              trailingBitTwins += 1; // same signature bytes, different spelling: must still fail
            }
            const outcome = await f.verifier.verify(mutated).then(
              () => 'accepted',
              (e: unknown) => e,
            );
            expect(outcome).toBeInstanceOf(TokenError);
          }),
          { numRuns: 1500 },
        );
        // The run must actually have exercised base64url trailing-bit malleability.
        expect(trailingBitTwins).toBeGreaterThan(0);
        await expect(f.verifier.verify(token)).resolves.toMatchObject({ jti });
      } finally {
        if (f !== fx) await f.close();
      }
    });
  }
});

describe('(c) the verifier accepts exactly when the claim rules hold', () => {
  const OTHER = 'http://127.0.0.1:8081';
  /** Offsets (seconds) concentrated on every boundary the rules have, plus the odd wild value. */
  const around = (...points: number[]) =>
    fc.oneof(
      ...points.map((p) => fc.integer({ min: p - 2, max: p + 2 })),
      fc.integer({ min: -10_000, max: 10_000 }),
    );
  const timeArb = (points: number[]) =>
    fc.oneof(
      { weight: 10, arbitrary: around(...points) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, '60', 1.5, null, 2 ** 60) },
    );

  const claimsArb = fc.record({
    iss: fc.oneof(
      { weight: 6, arbitrary: fc.constant<unknown>(OWN_ISSUER) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(OTHER, `${OWN_ISSUER}/`, undefined, [OWN_ISSUER]),
      },
    ),
    aud: fc.oneof(
      { weight: 6, arbitrary: fc.constant<unknown>(OWN_ISSUER) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(OTHER, undefined, [OWN_ISSUER], [OWN_ISSUER, OTHER]),
      },
    ),
    // relative to now
    iatOff: timeArb([0, SKEW, -MAX_LIFETIME]),
    // relative to iat when a number, so exp − iat lands on the lifetime boundary
    expOff: timeArb([0, MAX_LIFETIME, 600]),
    nbfOff: fc.option(timeArb([0, SKEW]), { nil: undefined }),
  });

  /** Every rule the claims break, read straight from RFC 7519 §4.1 / RFC 9068 and our config. */
  function violations(c: Record<string, unknown>, now: number): Set<TokenRejection> {
    const v = new Set<TokenRejection>();
    const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
    if (c.iss !== OWN_ISSUER) v.add('unknown_issuer');
    if (c.aud !== OWN_ISSUER) v.add('wrong_audience');
    const { exp, iat, nbf } = c;
    if (!int(exp) || !int(iat) || (nbf !== undefined && !int(nbf))) {
      v.add('bad_claims');
      return v;
    }
    if (exp <= now) v.add('expired');
    if (iat > now + SKEW) v.add('issued_in_future');
    if (nbf !== undefined && nbf > now + SKEW) v.add('not_yet_valid');
    if (exp - iat > MAX_LIFETIME) v.add('lifetime_too_long');
    return v;
  }

  it('accepts iff no rule is broken, and names a broken rule when it refuses', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(claimsArb, async (g) => {
        const now = fx.time.now();
        const abs = (off: unknown, base: number) =>
          typeof off === 'number' && Number.isSafeInteger(off) && Math.abs(off) < 1e6
            ? base + off
            : off;
        const iat = abs(g.iatOff, now);
        const exp = abs(g.expOff, typeof iat === 'number' ? iat : now);
        const nbf = abs(g.nbfOff, now);
        const claims = Object.fromEntries(
          Object.entries(fx.claims({ iss: g.iss, aud: g.aud, iat, exp, nbf })).filter(
            ([, v]) => v !== undefined,
          ),
        );

        const broken = violations(claims, now);
        const outcome = await verifyOutcome(await fx.sign(claims));
        if (broken.size === 0) {
          expect(outcome).toBe('accepted');
          accepted += 1;
        } else {
          expect(outcome).not.toBe('accepted');
          expect([...broken]).toContain(outcome);
          refused += 1;
        }
      }),
      { numRuns: 600 },
    );
    // Both sides of the boundary were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});
