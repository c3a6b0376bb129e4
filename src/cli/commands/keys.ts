/** @module cli/commands/keys — `gatehouse keys list|rotate`. Never prints private material. */
import { parseArgs } from 'node:util';
import { openKeyRing, type SigningAlg } from '../../auth/index.js';
import { SIGNING_ALGS } from '../../config/index.js';
import { systemClock } from '../../lib/clock.js';
import { COMMON_OPTIONS, configFrom, out, UsageError } from '../context.js';

export const usage =
  'gatehouse keys list [--json]\ngatehouse keys rotate [--alg ES256|EdDSA|RS256] [--immediate] [--json]';

const iso = (s: number | null): string | null =>
  s === null ? null : new Date(s * 1000).toISOString();

export async function run(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      ...COMMON_OPTIONS,
      alg: { type: 'string' },
      immediate: { type: 'boolean', default: false },
    },
  });
  const config = configFrom(values);
  const ring = await openKeyRing(config, systemClock);
  if (sub === 'rotate') {
    const alg = values.alg ?? config.auth.signingAlg;
    if (!(SIGNING_ALGS as readonly string[]).includes(alg))
      throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
    const delay = values.immediate ? 0 : config.auth.keyActivationDelay;
    const kid = await ring.rotate(alg as SigningAlg, delay);
    const activatesAt = iso(Math.floor(Date.now() / 1000) + delay);
    out(
      values.json
        ? JSON.stringify({ kid, alg, activatesAt })
        : `new signing key ${kid} (${alg}), published now, signing from ${activatesAt ?? ''}; ` +
            'previous keys stay published until their tokens expire',
    );
    return;
  }
  if (sub === 'list') {
    const rows = ring.list().map((k) => ({
      ...k,
      createdAt: iso(k.createdAt),
      activatesAt: iso(k.activatesAt),
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
