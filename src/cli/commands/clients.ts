/** @module cli/commands/clients — `gatehouse clients create|list|revoke`. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { createClient, revokeClient } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { COMMON_OPTIONS, configFrom, list, out, UsageError, withStore } from '../context.js';

export const usage = [
  'gatehouse clients create --name N --roles r1,r2 [--scopes s1,s2] [--jwks FILE] [--refresh] [--json]',
  'gatehouse clients list [--json]',
  'gatehouse clients revoke CLIENT_ID',
].join('\n');

function readJwks(file: string): JWK[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: JWK[] } | JWK;
  return 'keys' in parsed && Array.isArray(parsed.keys) ? parsed.keys : [parsed as JWK];
}

export async function run(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      name: { type: 'string' },
      roles: { type: 'string' },
      scopes: { type: 'string' },
      jwks: { type: 'string' },
      refresh: { type: 'boolean', default: false },
    },
  });
  const config = configFrom(values);
  if (sub === 'create') {
    if (values.name === undefined || values.roles === undefined)
      throw new UsageError('--name and --roles are required');
    const { client, secret } = await withStore(config, (store) =>
      createClient(store, systemClock, {
        name: values.name ?? '',
        roles: list(values.roles),
        scopes: values.scopes === undefined ? undefined : list(values.scopes),
        jwks: values.jwks === undefined ? undefined : readJwks(values.jwks),
        allowRefresh: values.refresh,
      }),
    );
    const result =
      secret === undefined
        ? { client_id: client.id }
        : { client_id: client.id, client_secret: secret };
    if (values.json) out(JSON.stringify(result));
    else {
      out(`client_id:     ${client.id}`);
      if (secret !== undefined) out(`client_secret: ${secret}   (shown once; store it now)`);
      out(`roles:         ${client.roles.join(' ')}`);
      out(`scopes:        ${client.scopes.join(' ')}`);
    }
    return;
  }
  if (sub === 'list') {
    const clients = await withStore(config, (store) => store.clients.list());
    const rows = clients.map((c) => ({
      client_id: c.id,
      name: c.name,
      roles: c.roles,
      scopes: c.scopes,
      auth_methods: c.authMethods,
      refresh: c.allowRefresh,
      created_at: new Date(c.createdAt * 1000).toISOString(),
      revoked_at: c.revokedAt === null ? null : new Date(c.revokedAt * 1000).toISOString(),
    }));
    if (values.json) out(JSON.stringify(rows));
    else
      for (const r of rows)
        out(
          `${r.client_id}  ${r.name}  [${r.roles.join(',')}]${r.revoked_at === null ? '' : '  REVOKED'}`,
        );
    return;
  }
  if (sub === 'revoke') {
    const id = positionals[0];
    if (id === undefined) throw new UsageError('client id required');
    await withStore(config, (store) => revokeClient(store, systemClock, id));
    out(`revoked ${id}`);
    return;
  }
  throw new UsageError(usage);
}
