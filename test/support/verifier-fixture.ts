/**
 * @module test/support/verifier-fixture — a Verifier wired the way the server wires it (own
 * issuer, KeyRing in a temp data dir, RevocationList over SQLite, verify cache on), with a frozen
 * clock that tests move by hand so expiry is deterministic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import { TokenIssuer } from '../../src/auth/issue.js';
import { KeyRing, type SigningAlg } from '../../src/auth/keyring.js';
import { RevocationList } from '../../src/auth/revocations.js';
import type { ClaimRules } from '../../src/auth/verify/claims.js';
import { Verifier, type TrustedIssuer } from '../../src/auth/verify/verifier.js';
import type { Clock } from '../../src/lib/clock.js';
import { randomId } from '../../src/lib/random.js';
import { openStore, type Store } from '../../src/store/index.js';

/** Our own issuer and audience, as the server's defaults make them. */
export const OWN_ISSUER = 'http://127.0.0.1:8080';
export const MAX_LIFETIME = 3600;
export const SKEW = 60;
export const MAX_TOKEN_BYTES = 8192;
/** 2026-01-01T00:00:00Z: an arbitrary fixed start so runs are reproducible. */
export const DEFAULT_START_MS = 1_767_225_600_000;

/** A clock that only moves when a test moves it. */
export interface FrozenClock {
  readonly clock: Clock;
  /** Current time in epoch seconds. */
  now(): number;
  /** Sets the time to `seconds` since the epoch. */
  set(seconds: number): void;
  /** Moves the time by `seconds` (may be negative). */
  advance(seconds: number): void;
}

/** Creates a frozen clock starting at `startMs`. */
export function frozenClock(startMs = DEFAULT_START_MS): FrozenClock {
  let nowMs = startMs;
  return {
    clock: () => nowMs,
    now: () => Math.floor(nowMs / 1000),
    set: (seconds) => {
      nowMs = seconds * 1000;
    },
    advance: (seconds) => {
      nowMs += seconds * 1000;
    },
  };
}

/** The claim rules the server applies to its own tokens. */
export const ownRules: ClaimRules = {
  issuer: OWN_ISSUER,
  audience: OWN_ISSUER,
  audienceArray: false,
  own: true,
  rolesClaim: 'roles',
  scopeClaim: 'scope',
  maxLifetime: MAX_LIFETIME,
  skew: SKEW,
};

export interface VerifierFixtureOptions {
  alg?: SigningAlg;
  /** Seconds a retired key stays published; default the longest lifetime plus skew. */
  retention?: number;
  startMs?: number;
  cacheSize?: number;
}

export interface VerifierFixture {
  dir: string;
  time: FrozenClock;
  ring: KeyRing;
  issuer: TokenIssuer;
  store: Store;
  revocations: RevocationList;
  /** The own-issuer entry the verifier trusts (reuse it to build variant verifiers). */
  trusted: TrustedIssuer;
  verifier: Verifier;
  /** Claims of a valid own token at the current time; `overrides` replace or add members. */
  claims(overrides?: Record<string, unknown>): Record<string, unknown>;
  /**
   * Signs `payload` with the ring's active private key (or `key`) under a valid own header;
   * `header` members replace the defaults. Use it for tokens with our real key but bad claims.
   */
  sign(payload: Record<string, unknown>, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** A token minted by the real TokenIssuer. */
  mint(ttl?: number): Promise<{ token: string; jti: string; exp: number }>;
  /** Builds another Verifier sharing this fixture's ring, revocations and clock. */
  makeVerifier(overrides?: {
    issuers?: TrustedIssuer[];
    cacheSize?: number;
    maxTokenBytes?: number;
  }): Verifier;
  close(): Promise<void>;
}

/** Builds the fixture in a fresh temp data dir. Call `close()` in `afterAll`/`afterEach`. */
export async function createVerifierFixture(
  options: VerifierFixtureOptions = {},
): Promise<VerifierFixture> {
  const alg = options.alg ?? 'ES256';
  const time = frozenClock(options.startMs);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-verify-'));
  const store = await openStore({ dataDir: dir });
  const ring = await KeyRing.open({
    store: store.keys,
    masterKey: undefined,
    alg,
    clock: time.clock,
    retention: options.retention ?? MAX_LIFETIME + SKEW,
  });
  const revocations = new RevocationList(store.revocations);
  const issuer = new TokenIssuer({
    issuer: OWN_ISSUER,
    audience: OWN_ISSUER,
    maxLifetime: MAX_LIFETIME,
    keys: ring,
    clock: time.clock,
    newId: randomId,
  });
  const trusted: TrustedIssuer = {
    rules: ownRules,
    algorithms: new Set([alg]),
    typs: new Set(['at+jwt', 'application/at+jwt']),
    keys: {
      // As the server does: a `kid` we do not know may be a rotation made by the CLI.
      async get(kid) {
        if (ring.get(kid) === undefined) await ring.refresh();
        return ring.get(kid)?.publicKey;
      },
    },
  };
  const makeVerifier: VerifierFixture['makeVerifier'] = (o = {}) =>
    new Verifier({
      issuers: o.issuers ?? [trusted],
      revocations,
      clock: time.clock,
      maxTokenBytes: o.maxTokenBytes ?? MAX_TOKEN_BYTES,
      cacheSize: o.cacheSize ?? options.cacheSize ?? 1000,
    });

  const claims: VerifierFixture['claims'] = (overrides = {}) => {
    const now = time.now();
    return {
      iss: OWN_ISSUER,
      sub: 'user-1',
      aud: OWN_ISSUER,
      iat: now,
      exp: now + 600,
      jti: randomId(),
      client_id: 'client-1',
      scope: 'inference:invoke models:read',
      roles: ['developer'],
      ...overrides,
    };
  };

  return {
    dir,
    time,
    ring,
    issuer,
    store,
    revocations,
    trusted,
    verifier: makeVerifier(),
    claims,
    async sign(payload, header = {}) {
      const key = ring.signingKey();
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
        .sign(key.privateKey);
    },
    async mint(ttl = 600) {
      return issuer.issue({
        subject: 'user-1',
        clientId: 'client-1',
        scopes: ['inference:invoke'],
        roles: ['developer'],
        ttl,
      });
    },
    makeVerifier,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
