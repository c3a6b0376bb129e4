/**
 * @module auth/service — wires the identity area from configuration: key ring, token issuer,
 * verifier (our issuer plus every configured external one), revocations, client authentication
 * and grants. The HTTP layer talks only to what this returns.
 */
import { existsSync } from 'node:fs';
import { SIGNING_ALGS, type Config } from '../config/index.js';
import { epochSeconds, type Clock } from '../lib/clock.js';
import type { IdGenerator } from '../lib/random.js';
import { builtinPolicy, type Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { DpopVerifier } from './dpop.js';
import { TokenIssuer } from './issue.js';
import { keyFilePath } from './key-file.js';
import { KeyRing } from './keyring.js';
import { ClientAuthenticator, type ClientAuthRefusal } from './oauth/client-auth.js';
import { ScryptWorker, type SecretCheck } from './oauth/scrypt-worker.js';
import { SecretChecks } from './oauth/secret-checks.js';
import { MemoryThrottle, type FailureThrottle } from './oauth/throttle.js';
import { TokenAdmin } from './oauth/token-admin.js';
import { TokenService } from './oauth/token-service.js';
import { CLIENT_REVOCATION_RETENTION, RevocationList } from './revocations.js';
import { RemoteJwks } from './verify/remote-jwks.js';
import { Verifier, type TrustedIssuer } from './verify/verifier.js';

/** Injected effects, so tests control time, randomness, network and logging. */
export interface AuthDeps {
  config: Config;
  store: Store;
  clock: Clock;
  newId: IdGenerator;
  fetch: typeof globalThis.fetch;
  warn: (message: string) => void;
  /** Told about each refused client authentication (429/503), for the audit log (issue 8). */
  onRefusal?: ((refusal: ClientAuthRefusal) => void) | undefined;
  /** Replaces the failure throttle (a shared backend for replicas, issue 11). */
  throttle?: FailureThrottle | undefined;
  /** Replaces the worker threads' secret check (tests hold checks pending with it). */
  secretCheck?: SecretCheck | undefined;
  /** The policy in force, which bounds what the token endpoint grants (default: built-in). */
  policy?: Policy | undefined;
}

/** The identity area, assembled. */
export interface Auth {
  readonly keys: KeyRing;
  readonly issuer: TokenIssuer;
  readonly verifier: Verifier;
  readonly revocations: RevocationList;
  readonly clientAuth: ClientAuthenticator;
  /** The bounded secret checks behind client authentication (for tests and metrics). */
  readonly secretChecks: SecretChecks;
  readonly tokens: TokenService;
  /** Revocation and introspection rules (RFC 7009, RFC 7662). */
  readonly tokenAdmin: TokenAdmin;
  readonly dpop: DpopVerifier;
  /** Stops background work (revocation sync, secret-check threads). */
  close(): void;
}

const OWN_TYPS = new Set<string | undefined>(['at+jwt', 'application/at+jwt']);
/** External access tokens: absent, generic JWT, or the RFC 9068 type — never ID or DPoP tokens. */
const EXTERNAL_TYPS = new Set<string | undefined>([
  undefined,
  'jwt',
  'at+jwt',
  'application/at+jwt',
]);

/**
 * Opens the key ring the way the server and the CLI both do: from the store (`store.keys`),
 * importing the data dir's key file of an earlier version on the first start after an upgrade.
 */
export function openKeyRing(config: Config, store: Store, clock: Clock): Promise<KeyRing> {
  return KeyRing.open({
    store: store.keys,
    legacyFile: keyFilePath(config.dataDir),
    masterKey: config.masterKey,
    alg: config.auth.signingAlg,
    clock,
    retention: config.auth.maxTokenLifetime + config.auth.clockSkew,
  });
}

/**
 * Whether there are signing keys to open without creating any: a ring in the store, or a key
 * file of an earlier version still to import (for commands that only verify).
 */
export async function hasSigningKeys(config: Config, store: Store): Promise<boolean> {
  return (await store.keys.revision()) > 0 || existsSync(keyFilePath(config.dataDir));
}

/** Seconds between purges of expired revocations and replay entries. */
const PURGE_EVERY = 600;

/** Builds the identity area. */
export async function createAuth(deps: AuthDeps): Promise<Auth> {
  const { config, store, clock } = deps;
  const a = config.auth;
  const keys = await openKeyRing(config, store, clock);
  if (config.masterKey === undefined && store.kind === 'postgres') {
    // Shared over the network and in its backups: say so once, at start-up.
    deps.warn(
      'signing keys are stored unsealed in PostgreSQL: set GATEHOUSE_MASTER_KEY to seal them',
    );
  }
  const issuer = new TokenIssuer({
    issuer: a.issuer,
    audience: a.audience,
    maxLifetime: a.maxTokenLifetime,
    keys,
    clock,
    newId: deps.newId,
  });
  const revocations = new RevocationList(store.revocations);
  await revocations.sync(epochSeconds(clock));
  // Clients revoked before revocations carried client rows: still refuse their tokens here.
  const since = epochSeconds(clock) - CLIENT_REVOCATION_RETENTION;
  for (const c of await store.clients.list()) {
    if (c.revokedAt !== null && c.revokedAt > since) revocations.noteClient(c.id, c.revokedAt);
  }
  const ca = a.clientAuth;
  const injected = deps.secretCheck;
  const workers =
    injected === undefined ? Array.from({ length: ca.hashThreads }, () => new ScryptWorker()) : [];
  const runners: SecretCheck[] =
    injected === undefined
      ? workers.map((w) => w.check)
      : Array.from({ length: ca.hashThreads }, () => injected);
  const secretChecks = new SecretChecks({ runners, maxQueue: ca.hashQueue });
  const throttle =
    deps.throttle ??
    new MemoryThrottle({
      windowMs: ca.failureWindow * 1000,
      perClientSource: ca.maxFailuresPerClientSource,
      perSource: ca.maxFailuresPerSource,
      perClient: ca.maxFailuresPerClient,
      knownMs: ca.knownSourceTtl * 1000,
      maxTracked: ca.maxTracked,
    });

  const own: TrustedIssuer = {
    rules: {
      issuer: a.issuer,
      audience: a.audience,
      audienceArray: false,
      maxLifetime: a.maxTokenLifetime,
      skew: a.clockSkew,
      rolesClaim: 'roles',
      scopeClaim: 'scope',
      own: true,
    },
    algorithms: new Set(SIGNING_ALGS),
    typs: OWN_TYPS,
    keys: {
      get: (kid) => {
        const hit = keys.get(kid);
        if (hit !== undefined) return hit.publicKey;
        // A rotation by the CLI or another replica may have added a key: check the store's
        // revision (at most once a second, however many unknown kids arrive).
        return keys.refresh().then(() => keys.get(kid)?.publicKey);
      },
    },
  };
  const external: TrustedIssuer[] = a.trustedIssuers.map((t) => {
    const jwks = new RemoteJwks({
      issuer: t.issuer,
      jwksUri: t.jwksUri,
      discovery: t.discovery,
      algorithms: t.algorithms,
      cooldownMs: a.jwksCooldown * 1000,
      timeoutMs: a.jwksTimeoutMs,
      maxAgeMs: a.jwksMaxAge * 1000,
      clock,
      fetch: deps.fetch,
      onError: deps.warn,
    });
    return {
      rules: {
        issuer: t.issuer,
        audience: t.audience,
        audienceArray: true,
        maxLifetime: Math.min(t.maxTokenLifetime ?? a.maxTokenLifetime, a.maxTokenLifetime),
        skew: a.clockSkew,
        rolesClaim: t.rolesClaim,
        scopeClaim: t.scopeClaim,
        own: false,
      },
      algorithms: new Set(t.algorithms),
      typs: EXTERNAL_TYPS,
      keys: { get: (kid, alg) => jwks.get(kid, alg) },
    };
  });
  const verifier = new Verifier({
    issuers: [own, ...external],
    revocations,
    clock,
    maxTokenBytes: a.maxTokenBytes,
    cacheSize: a.verifyCacheSize,
  });
  // The same timer drops what can no longer matter — revocations and replay entries of tokens
  // that have expired — at most every PURGE_EVERY seconds, so the tables do not grow forever.
  let purgedAt = Number.NEGATIVE_INFINITY;
  const timer = setInterval(() => {
    const now = epochSeconds(clock);
    revocations.sync(now).catch((err: unknown) => {
      deps.warn(`revocation sync failed: ${(err as Error).message}`);
    });
    // A key rotated by the CLI or another replica (the ring's revision in the store changed)
    // signs here too within the same interval — checkpoints and receipts included.
    keys.refresh(0).catch((err: unknown) => {
      deps.warn(`reloading the signing keys failed: ${(err as Error).message}`);
    });
    if (now - purgedAt < PURGE_EVERY) return;
    purgedAt = now;
    store.revocations.purge(now).catch((err: unknown) => {
      deps.warn(`purging expired revocations failed: ${(err as Error).message}`);
    });
  }, a.revocationSyncInterval * 1000);
  timer.unref();

  const tokens = new TokenService({
    store,
    issuer,
    revocations,
    clock,
    accessTokenTtl: a.accessTokenTtl,
    refreshTokenTtl: a.refreshTokenTtl,
    grantable: (roles) => (deps.policy?.current() ?? builtinPolicy()).grantedScopes(roles),
  });
  return {
    keys,
    issuer,
    verifier,
    revocations,
    clientAuth: new ClientAuthenticator({
      store,
      clock,
      issuer: a.issuer,
      checks: secretChecks,
      throttle,
      onRefusal: deps.onRefusal,
    }),
    secretChecks,
    tokens,
    tokenAdmin: new TokenAdmin({ store, verifier, revocations, tokens, audience: a.audience }),
    dpop: new DpopVerifier({
      clock,
      replay: store.replay,
      maxAge: a.dpopProofMaxAge,
      skew: a.clockSkew,
    }),
    close: () => {
      clearInterval(timer);
      for (const w of workers) void w.close();
    },
  };
}
