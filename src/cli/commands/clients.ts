/** @module cli/commands/clients — `gatehouse clients create|list|update|revoke`. */
import { readFileSync } from 'node:fs';
import { createClient, jwksFileKeys, revokeClient, setClientLimits } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { recordAdmin } from '../admin-audit.js';
import { leaf, UsageError, type Group } from '../command.js';
import { parseLimitsOption } from '../limits.js';
import {
  CONFIG_OPTIONS,
  configFrom,
  HELP_OPTION,
  JSON_OPTION,
  policyFor,
  rolesFrom,
  scopesFrom,
  withStore,
  ROLE_OPTIONS,
} from '../context.js';

/** The public keys in a JWK Set or single-JWK file; each key is checked by createClient. */
function readJwks(file: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const reason = err instanceof SyntaxError ? 'not valid JSON' : 'cannot be read';
    throw new UsageError(`--jwks ${file}: ${reason}`);
  }
  const r = jwksFileKeys(parsed);
  if ('error' in r) throw new UsageError(`--jwks ${file}: ${r.error}`);
  return r.keys;
}

const LIMITS_OPTION = {
  limits: {
    type: 'string',
    value: 'L',
    help: "limits replacing the roles', e.g. requestsPerMinute=60,models.chat-*.tokensPerDay=100000",
  },
} as const;

const create = leaf({
  name: 'gatehouse clients create',
  summary: 'register an OAuth client; prints its client_id and client_secret once',
  synopsis:
    '--name N --roles r1,r2 [--scopes s1,s2] [--jwks FILE] [--refresh] [--limits L] [--json]',
  description:
    'The secret is stored as an scrypt hash and never shown again. With --jwks the client\n' +
    'authenticates with private_key_jwt (its public keys) instead of a secret.',
  options: {
    name: { type: 'string', value: 'N', help: 'a name to recognise the client by' },
    ...ROLE_OPTIONS,
    jwks: { type: 'string', value: 'FILE', help: 'public JWK or JWKS file for private_key_jwt' },
    refresh: { type: 'boolean', default: false, help: 'allow refresh tokens' },
    ...LIMITS_OPTION,
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    if (values.name === undefined) throw new UsageError('--name is required');
    const config = configFrom(values);
    // Roles are those of the policy in force (the file, when one is configured).
    const policy = policyFor(config);
    const roles = rolesFrom(values.roles, policy);
    const scopes = scopesFrom(values.scopes);
    const limits = values.limits === undefined ? undefined : parseLimitsOption(values.limits);
    const { client, secret } = await withStore(config, async (store) => {
      const created = await createClient(
        store,
        systemClock,
        {
          name: values.name ?? '',
          roles,
          scopes,
          jwks: values.jwks === undefined ? undefined : readJwks(values.jwks),
          allowRefresh: values.refresh,
          limits: limits ?? undefined,
        },
        policy,
      );
      const c = created.client;
      await recordAdmin(config, store, {
        action: 'client.create',
        resource: `client:${c.id}`,
        command: 'gatehouse clients create',
        details: {
          name: c.name,
          roles: c.roles,
          scopes: c.scopes,
          authMethods: c.authMethods,
          refresh: c.allowRefresh,
          limits: c.limits,
        },
      });
      return created;
    });
    const result =
      secret === undefined
        ? { client_id: client.id }
        : { client_id: client.id, client_secret: secret };
    if (values.json) {
      io.out(JSON.stringify(result));
      return;
    }
    io.out(`client_id:     ${client.id}`);
    if (secret !== undefined) io.out(`client_secret: ${secret}   (shown once; store it now)`);
    io.out(`roles:         ${client.roles.join(' ')}`);
    io.out(`scopes:        ${client.scopes.join(' ')}`);
  },
});

const listCommand = leaf({
  name: 'gatehouse clients list',
  summary: 'list registered clients (never their secrets)',
  synopsis: '[--json]',
  options: { ...JSON_OPTION, ...CONFIG_OPTIONS, ...HELP_OPTION },
  async run({ values }, io) {
    const clients = await withStore(configFrom(values), (store) => store.clients.list());
    const rows = clients.map((c) => ({
      client_id: c.id,
      name: c.name,
      roles: c.roles,
      scopes: c.scopes,
      auth_methods: c.authMethods,
      refresh: c.allowRefresh,
      limits: c.limits,
      created_at: new Date(c.createdAt * 1000).toISOString(),
      revoked_at: c.revokedAt === null ? null : new Date(c.revokedAt * 1000).toISOString(),
    }));
    if (values.json) io.out(JSON.stringify(rows));
    else
      for (const r of rows)
        io.out(
          `${r.client_id}  ${r.name}  [${r.roles.join(',')}]${r.revoked_at === null ? '' : '  REVOKED'}`,
        );
  },
});

const update = leaf({
  name: 'gatehouse clients update',
  summary: 'change a client’s rate limits and token quotas',
  synopsis: 'CLIENT_ID --limits L|none [--json]',
  description:
    "L uses the names of the policy file's limits: requestsPerMinute, tokensPerMinute,\n" +
    'tokensPerDay, concurrentRequests, and models.<model pattern>.<name> for one model; or a\n' +
    "JSON object. `none` returns the client to its roles' limits. Every replica applies the\n" +
    'change within auth.revocationSyncInterval.',
  options: { ...LIMITS_OPTION, ...JSON_OPTION, ...CONFIG_OPTIONS, ...HELP_OPTION },
  positionals: { name: 'CLIENT_ID', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const id = positionals[0] ?? '';
    if (values.limits === undefined) throw new UsageError('--limits is required');
    const wanted = parseLimitsOption(values.limits);
    const config = configFrom(values);
    const limits = await withStore(config, async (store) => {
      const set = await setClientLimits(store, id, wanted);
      await recordAdmin(config, store, {
        action: 'client.update',
        resource: `client:${id}`,
        command: 'gatehouse clients update',
        details: { limits: set },
      });
      return set;
    });
    if (values.json) io.out(JSON.stringify({ client_id: id, limits }));
    else
      io.out(`updated ${id}: limits ${limits === null ? 'of its roles' : JSON.stringify(limits)}`);
  },
});

const revoke = leaf({
  name: 'gatehouse clients revoke',
  summary: 'revoke a client',
  synopsis: 'CLIENT_ID',
  options: { ...CONFIG_OPTIONS, ...HELP_OPTION },
  positionals: { name: 'CLIENT_ID', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const id = positionals[0] ?? '';
    const config = configFrom(values);
    await withStore(config, async (store) => {
      await revokeClient(store, systemClock, id);
      await recordAdmin(config, store, {
        action: 'client.revoke',
        resource: `client:${id}`,
        command: 'gatehouse clients revoke',
        details: {},
      });
    });
    io.out(`revoked ${id}`);
  },
});

export const command: Group = {
  kind: 'group',
  name: 'gatehouse clients',
  summary: 'register, list, update and revoke OAuth clients',
  commands: [create, listCommand, update, revoke],
};
