/**
 * @module auth/clients — registering and managing OAuth clients. A client's secret is returned
 * once at creation and stored only as a scrypt hash.
 */
import { BadRequestError, NotFoundError } from '../errors.js';
import { epochSeconds, type Clock } from '../lib/clock.js';
import { randomToken } from '../lib/random.js';
import {
  builtinPolicy,
  limitsSpec,
  parseScope,
  type LimitsSpec,
  type PolicySnapshot,
} from '../policy/index.js';
import type { ClientAuthMethod, ClientRecord, Store } from '../store/index.js';
import { parsePublicJwk } from './jwk.js';
import { CLIENT_REVOCATION_RETENTION, clientRevocationKey } from './revocations.js';
import { hashSecret } from './secrets.js';

/** What an operator asks for when registering a client. */
export interface NewClient {
  name: string;
  roles: readonly string[];
  /** Narrows the scopes the roles grant; default all of them. */
  scopes?: readonly string[] | undefined;
  /** Public keys for private_key_jwt (validated here); when given, the client has no secret. */
  jwks?: readonly unknown[] | undefined;
  allowRefresh?: boolean | undefined;
  /** Limits replacing the roles' for this client (the policy's `limits` shape); default none. */
  limits?: unknown;
}

/** Result of registration: `secret` is present only for secret-based clients, shown once. */
export interface CreatedClient {
  client: ClientRecord;
  secret: string | undefined;
}

/**
 * Registers a client; validates roles (against `policy`, the policy in force: the built-in one
 * unless given), scopes and keys.
 */
export async function createClient(
  store: Store,
  clock: Clock,
  input: NewClient,
  policy: PolicySnapshot = builtinPolicy(),
): Promise<CreatedClient> {
  const name = input.name.trim();
  if (name === '' || name.length > 200) throw new BadRequestError('name must be 1–200 characters');
  if (input.roles.length === 0) throw new BadRequestError('at least one role is required');
  const unknown = input.roles.filter((r) => !policy.hasRole(r));
  if (unknown.length > 0) throw new BadRequestError(`unknown role(s): ${unknown.join(', ')}`);
  const granted = policy.grantedScopes(input.roles);
  const scopes = input.scopes === undefined ? [...granted] : [...input.scopes];
  const notGranted = scopes.filter((s) => parseScope(s)?.length !== 1 || !granted.has(s));
  if (notGranted.length > 0) {
    throw new BadRequestError(`scope(s) not granted by the roles: ${notGranted.join(', ')}`);
  }
  let jwks: Record<string, unknown>[] | null = null;
  let authMethods: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];
  let secret: string | undefined;
  if (input.jwks !== undefined) {
    jwks = input.jwks.map((k, i) => validatePublicJwk(k, i));
    if (jwks.length === 0) throw new BadRequestError('jwks must hold at least one key');
    authMethods = ['private_key_jwt'];
  } else {
    secret = randomToken(32);
  }
  const client: ClientRecord = {
    id: `gh_${randomToken(12)}`,
    name,
    secretHash: secret === undefined ? null : await hashSecret(secret),
    jwks,
    authMethods,
    roles: [...new Set(input.roles)],
    scopes,
    allowRefresh: input.allowRefresh ?? false,
    limits: input.limits === undefined ? null : validateLimits(input.limits),
    createdAt: epochSeconds(clock),
    revokedAt: null,
  };
  await store.clients.insert(client);
  return { client, secret };
}

/**
 * A client's limits checked against the policy's `limits` schema; a 400 names the first bad
 * key, e.g. `limits.requestsPerMinute: …`.
 */
export function validateLimits(input: unknown): LimitsSpec {
  const r = limitsSpec.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = ['limits', ...(issue?.path ?? []).map(String)].join('.');
  throw new BadRequestError(`${path}: ${issue?.message ?? 'invalid'}`);
}

/**
 * Replaces a client's limits (null: back to its roles'). Every replica applies them from its
 * next look-up of the client (the limiter caches clients for at most the revocation sync
 * interval).
 */
export async function setClientLimits(
  store: Store,
  id: string,
  limits: unknown,
): Promise<LimitsSpec | null> {
  const checked = limits === null ? null : validateLimits(limits);
  if (!(await store.clients.setLimits(id, checked))) throw new NotFoundError(`no client ${id}`);
  return checked;
}

function validatePublicJwk(input: unknown, index: number): Record<string, unknown> {
  const r = parsePublicJwk(input);
  if ('error' in r) {
    throw new BadRequestError(
      `key ${index + 1}: ${r.error}; client keys must be EC, OKP or RSA public JWKs`,
    );
  }
  return { ...r.jwk };
}

/**
 * Revokes a client: it can no longer authenticate (so its refresh tokens are dead), and every
 * access token it holds is refused by each replica at its next revocation sync. The revocation
 * row is written first, so a failure between the two writes never leaves tokens working; a
 * client revoked before revocation rows existed gets its row when revoked again.
 */
export async function revokeClient(store: Store, clock: Clock, id: string): Promise<void> {
  const notFound = () => new NotFoundError(`no active client ${id}`);
  if ((await store.clients.get(id)) === undefined) throw notFound();
  const now = epochSeconds(clock);
  await store.revocations.add({
    jti: clientRevocationKey(id),
    exp: now + CLIENT_REVOCATION_RETENTION,
  });
  if (!(await store.clients.revoke(id, now))) throw notFound();
}
