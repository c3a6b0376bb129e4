/**
 * @module cli/commands/token — `gatehouse token --roles …` mints a short-lived access token with
 * the local signing key, for local use (curl, SDK experiments). It reads the same config and
 * server options as `serve`, so the token names the issuer that server checks; stdout holds only
 * the token, the issuer it was signed for goes to stderr. Each token minted is an audit event
 * (`token.issue`, by its `jti`) on this host's chain.
 */
import { recordAdmin } from '../admin-audit.js';
import { leaf, UsageError, type Leaf } from '../command.js';
import {
  CONFIG_OPTIONS,
  configFrom,
  HELP_OPTION,
  JSON_OPTION,
  mintLocalToken,
  policyFor,
  rolesFrom,
  scopesFrom,
  SERVER_OPTIONS,
  ROLE_OPTIONS,
  withStore,
} from '../context.js';

export const command: Leaf = leaf({
  name: 'gatehouse token',
  summary: 'mint a short-lived access token locally, without a client',
  synopsis: '--roles r1,r2 [--scopes s1,s2] [--ttl SECONDS] [--sub SUBJECT] [--json] [--port N]',
  description:
    'Signed with the local key for the issuer of the server started with the same --port,\n' +
    '--host, --config and --data-dir (the issuer is printed on stderr).',
  options: {
    ...ROLE_OPTIONS,
    ttl: { type: 'string', value: 'SECONDS', help: 'lifetime (default auth.accessTokenTtl, 600)' },
    sub: { type: 'string', value: 'SUBJECT', help: 'subject (default local:$USER)' },
    ...JSON_OPTION,
    ...SERVER_OPTIONS,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    // The roles and scopes the policy in force grants (the file, when one is configured).
    const policy = policyFor(config);
    const roles = rolesFrom(values.roles, policy);
    const granted = policy.grantedScopes(roles);
    const scopes = scopesFrom(values.scopes) ?? [...granted];
    const extra = scopes.filter((s) => !granted.has(s));
    if (extra.length > 0)
      throw new UsageError(`scope(s) not granted by the roles: ${extra.join(', ')}`);
    const ttl = values.ttl === undefined ? config.auth.accessTokenTtl : Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl <= 0 || ttl > config.auth.maxTokenLifetime) {
      throw new UsageError(`--ttl must be 1–${config.auth.maxTokenLifetime} seconds`);
    }
    const sub = values.sub ?? `local:${process.env.USER ?? 'operator'}`;
    const t = await mintLocalToken(config, { subject: sub, scopes, roles, ttl });
    // Recorded like a token the server issues (by its jti, never the token), before it is shown.
    await withStore(config, (store) =>
      recordAdmin(config, store, {
        action: 'token.issue',
        resource: `token:${t.jti}`,
        command: 'gatehouse token',
        details: { subject: sub, roles, scopes, expiresAt: t.exp },
      }),
    );
    io.err(
      `token for issuer ${config.auth.issuer} (audience ${config.auth.audience}), ` +
        `expires in ${t.exp - t.iat} s`,
    );
    io.out(
      values.json
        ? JSON.stringify({ access_token: t.token, token_type: 'Bearer', expires_in: t.exp - t.iat })
        : t.token,
    );
  },
});
