/**
 * @module test/support/adversary — the shared set-up of the unit-level adversarial suites
 * (src/auth/verify/adversarial-*.test.ts): one verifier fixture per file with its clock reset
 * after every test, an assertion that a token is refused for exactly one reason, and the
 * builders for tokens that differ from a valid one in a single respect.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { TokenError, type TokenRejection } from '../../src/auth/verify/errors.js';
import type { Verifier } from '../../src/auth/verify/verifier.js';
import { forge, type RawJson } from './jws.js';
import { createVerifierFixture, type VerifierFixture } from './verifier-fixture.js';

/** What an adversarial test file works with. */
export interface AdversarySuite {
  /**
   * The file's verifier fixture. It is built in `beforeAll`, so only hooks and tests may touch
   * it; reading a member at collection time throws.
   */
  readonly fx: VerifierFixture;
  /** Asserts that `token` is refused with exactly `reason` (and nothing but a TokenError). */
  readonly refused: (token: string, reason: TokenRejection, v?: Verifier) => Promise<void>;
  /** Our valid protected header, with `overrides` replacing members. */
  readonly ownHeader: (overrides?: Record<string, unknown>) => Record<string, unknown>;
  /** Hand-built token signed with our real private key. */
  readonly ringForge: (
    header: Record<string, unknown> | RawJson,
    payload: Record<string, unknown> | RawJson,
  ) => string;
}

/** Asserts that `verifier` refuses `token` with exactly `reason`. */
export async function expectRefused(
  verifier: Verifier,
  token: string,
  reason: TokenRejection,
): Promise<void> {
  const outcome = await verifier.verify(token).then(
    () => 'accepted',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(TokenError);
  expect(outcome).toMatchObject({ reason });
}

/**
 * Registers the hooks that build the file's fixture, move its clock back to the start after
 * every test, and close it at the end. Call once at the top level of a test file.
 */
export function useAdversarySuite(): AdversarySuite {
  let current: VerifierFixture | undefined;
  let start = 0;
  beforeAll(async () => {
    current = await createVerifierFixture();
    start = current.time.now();
  });
  afterAll(async () => {
    await current?.close();
  });
  afterEach(() => {
    current?.time.set(start);
  });

  const get = (): VerifierFixture => {
    if (current === undefined) throw new Error('the adversary fixture is used outside a test');
    return current;
  };
  // A proxy rather than a getter so that test files can destructure `fx` at the top level and
  // keep writing `fx.claims()` in their tests.
  const fx = new Proxy({} as VerifierFixture, {
    get: (_target, member) => Reflect.get(get(), member) as unknown,
  });
  const ownHeader = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const k = get().ring.signingKey();
    return { alg: k.alg, kid: k.kid, typ: 'at+jwt', ...overrides };
  };
  return {
    fx,
    refused: (token, reason, v) => expectRefused(v ?? get().verifier, token, reason),
    ownHeader,
    ringForge: (header, payload) => {
      const k = get().ring.signingKey();
      return forge(header, payload, k.alg, k.privateKey);
    },
  };
}

/** The three segments of a compact JWS. */
export const parts = (t: string): [string, string, string] =>
  t.split('.') as [string, string, string];

/** A fresh P-256 key pair an attacker controls. */
export function attackerEc(): { privateKey: KeyObject; publicKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, jwk: publicKey.export({ format: 'jwk' }) };
}
