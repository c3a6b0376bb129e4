/**
 * @module cli/commands/token — `gatehouse token --roles …` mints a short-lived access token with
 * the local signing key, for local use (curl, SDK experiments). Prints only the token.
 */
import { parseArgs } from 'node:util';
import { openKeyRing, TokenIssuer } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { randomId } from '../../lib/random.js';
import { isRole, scopesForRoles } from '../../policy/index.js';
import { COMMON_OPTIONS, configFrom, list, out, UsageError } from '../context.js';

export const usage =
  'gatehouse token --roles r1,r2 [--scopes s1,s2] [--ttl SECONDS] [--sub SUBJECT] [--json]';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      roles: { type: 'string' },
      scopes: { type: 'string' },
      ttl: { type: 'string' },
      sub: { type: 'string' },
    },
  });
  const config = configFrom(values);
  const roles = list(values.roles);
  if (roles.length === 0) throw new UsageError('--roles is required');
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length > 0) throw new UsageError(`unknown role(s): ${unknown.join(', ')}`);
  const granted = scopesForRoles(roles);
  const scopes = values.scopes === undefined ? [...granted] : list(values.scopes);
  const extra = scopes.filter((s) => !granted.has(s));
  if (extra.length > 0)
    throw new UsageError(`scope(s) not granted by the roles: ${extra.join(', ')}`);
  const ttl = values.ttl === undefined ? config.auth.accessTokenTtl : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > config.auth.maxTokenLifetime) {
    throw new UsageError(`--ttl must be 1–${config.auth.maxTokenLifetime} seconds`);
  }
  const keys = await openKeyRing(config, systemClock);
  const issuer = new TokenIssuer({
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    maxLifetime: config.auth.maxTokenLifetime,
    keys,
    clock: systemClock,
    newId: randomId,
  });
  const sub = values.sub ?? `local:${process.env.USER ?? 'operator'}`;
  const t = await issuer.issue({ subject: sub, clientId: 'gatehouse-cli', scopes, roles, ttl });
  out(
    values.json
      ? JSON.stringify({ access_token: t.token, token_type: 'Bearer', expires_in: t.exp - t.iat })
      : t.token,
  );
}
