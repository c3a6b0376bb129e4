/** @module cli/commands/keys — `gatehouse keys list|rotate`. Never prints private material. */
import { parseArgs } from 'node:util';
import { openKeyRing, type SigningAlg } from '../../auth/index.js';
import { SIGNING_ALGS } from '../../config/index.js';
import { systemClock } from '../../lib/clock.js';
import { COMMON_OPTIONS, configFrom, out, UsageError } from '../context.js';

export const usage =
  'gatehouse keys list [--json]\ngatehouse keys rotate [--alg ES256|EdDSA|RS256]';

const iso = (s: number | null): string | null =>
  s === null ? null : new Date(s * 1000).toISOString();

export async function run(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { ...COMMON_OPTIONS, alg: { type: 'string' } },
  });
  const config = configFrom(values);
  const ring = await openKeyRing(config, systemClock);
  if (sub === 'rotate') {
    const alg = values.alg ?? config.auth.signingAlg;
    if (!(SIGNING_ALGS as readonly string[]).includes(alg))
      throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
    const kid = await ring.rotate(alg as SigningAlg);
    out(
      values.json
        ? JSON.stringify({ kid, alg })
        : `new signing key ${kid} (${alg}); previous keys stay published until their tokens expire`,
    );
    return;
  }
  if (sub === 'list') {
    const rows = ring.list().map((k) => ({
      ...k,
      createdAt: iso(k.createdAt),
      retiredAt: iso(k.retiredAt),
      expiresAt: iso(k.expiresAt),
    }));
    if (values.json) out(JSON.stringify(rows));
    else
      for (const k of rows)
        out(
          `${k.kid}  ${k.alg}  ${k.active ? 'active' : `retired, published until ${k.expiresAt ?? ''}`}`,
        );
    return;
  }
  throw new UsageError(usage);
}
