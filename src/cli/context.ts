/**
 * @module cli/context — options shared by CLI commands and opening what they work on. Admin
 * commands work directly on the data dir (or the configured store), like the server does;
 * `serve` and `token` share the server options so that a token names the issuer the server uses.
 */
import { openKeyRing, TokenIssuer, type IssuedAccessToken } from '../auth/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { systemClock } from '../lib/clock.js';
import { randomId } from '../lib/random.js';
import {
  BUILTIN_ROLES,
  PolicyFileError,
  policySnapshot,
  SCOPES,
  type PolicySnapshot,
} from '../policy/index.js';
import { openStore, type Store } from '../store/index.js';
import { UsageError } from './command.js';

export { UsageError } from './command.js';

/** `--config` and `--data-dir`: every command that reads config accepts them. */
export const CONFIG_OPTIONS = {
  config: {
    type: 'string',
    value: 'FILE',
    help: 'config file (default ./gatehouse.yaml if present)',
  },
  'data-dir': { type: 'string', value: 'DIR', help: 'data directory (default ./.gatehouse)' },
} as const;

/** `--port` and `--host`: where the server listens, hence the issuer of its tokens. */
export const SERVER_OPTIONS = {
  port: { type: 'string', value: 'N', help: 'port (default 8080; sets the default issuer)' },
  host: { type: 'string', value: 'H', help: 'host (default 127.0.0.1; sets the default issuer)' },
} as const;

/** `--roles` and `--scopes`, for the commands that grant them. */
export const ROLE_OPTIONS = {
  roles: {
    type: 'string',
    value: 'r1,r2',
    help: `roles of the policy in force (built in: ${[...BUILTIN_ROLES.keys()].join(', ')})`,
  },
  scopes: {
    type: 'string',
    value: 's1,s2',
    help: 'narrow the scopes (default: all the roles grant)',
  },
} as const;

export const JSON_OPTION = {
  json: { type: 'boolean', default: false, help: 'print JSON' },
} as const;

export const HELP_OPTION = {
  help: { type: 'boolean', short: 'h', default: false, help: 'show this help' },
} as const;

interface ConfigValues {
  config?: string | undefined;
  'data-dir'?: string | undefined;
  port?: string | undefined;
  host?: string | undefined;
}

/** Loads config honouring --config, --data-dir and, where given, --port and --host. */
export function configFrom(values: ConfigValues): Config {
  const overrides: Record<string, unknown> = {};
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  const server: Record<string, unknown> = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError('--port must be 0–65535');
    server.port = port;
  }
  if (values.host !== undefined) server.host = values.host;
  if (Object.keys(server).length > 0) overrides.server = server;
  return loadConfig({ file: values.config, overrides });
}

/** Opens the store, runs `fn`, closes the store. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({
    url: config.store.url,
    schema: config.store.schema,
    dataDir: config.dataDir,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Splits a comma/space separated list. */
export function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter(Boolean);
}

/** The policy in force for `config` (its `policy.file`, else the built-in one), read once. */
export function policyFor(config: Config): PolicySnapshot {
  try {
    return policySnapshot(config.policy.file);
  } catch (err) {
    if (err instanceof PolicyFileError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * `--roles`: required, every name a role of `policy` (the policy in force; the valid ones are
 * listed otherwise).
 */
export function rolesFrom(value: string | undefined, policy: PolicySnapshot): string[] {
  const roles = list(value);
  const valid = policy.roleNames().join(', ');
  if (roles.length === 0) throw new UsageError(`--roles is required (one or more of: ${valid})`);
  const unknown = roles.filter((r) => !policy.hasRole(r));
  if (unknown.length > 0)
    throw new UsageError(
      `unknown role${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}; valid roles: ${valid}`,
    );
  return roles;
}

/** `--scopes`: undefined when absent; every name a known scope. */
export function scopesFrom(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const scopes = list(value);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new UsageError(
      `unknown scope(s): ${unknown.join(', ')}; valid scopes: ${SCOPES.join(' ')}`,
    );
  return scopes;
}

/**
 * An access token signed with the store's current key for `config`'s issuer and audience (client
 * `gatehouse-cli`): what `gatehouse token` prints and what local registry commands call with.
 */
export async function mintLocalToken(
  config: Config,
  claims: { subject: string; roles: readonly string[]; scopes: readonly string[]; ttl: number },
): Promise<IssuedAccessToken> {
  return withStore(config, async (store) => {
    const issuer = new TokenIssuer({
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      maxLifetime: config.auth.maxTokenLifetime,
      keys: await openKeyRing(config, store, systemClock),
      clock: systemClock,
      newId: randomId,
    });
    return issuer.issue({
      subject: claims.subject,
      clientId: 'gatehouse-cli',
      scopes: [...claims.scopes],
      roles: [...claims.roles],
      ttl: claims.ttl,
    });
  });
}
