/**
 * @module cli/commands/keys — `gatehouse keys list|rotate`, on the key ring in the store (shared
 * by every replica). Never prints private material.
 */
import { openKeyRing, type KeyInfo, type SigningAlg } from '../../auth/index.js';
import { SIGNING_ALGS } from '../../config/index.js';
import { systemClock } from '../../lib/clock.js';
import { leaf, UsageError, type Group } from '../command.js';
import { recordAdmin } from '../admin-audit.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, JSON_OPTION, withStore } from '../context.js';

const iso = (s: number | null): string | null =>
  s === null ? null : new Date(s * 1000).toISOString();

/** Where a key stands at `now` (unix seconds): published before it signs, signing, or retired. */
export function keyState(k: KeyInfo, now: number): 'pending' | 'active' | 'retired' {
  if (k.active) return 'active';
  return k.activatesAt > now ? 'pending' : 'retired';
}

/** One line of `keys list`. */
export function keyLine(k: KeyInfo, now: number): string {
  const state = keyState(k, now);
  const text =
    state === 'pending'
      ? `pending, signs from ${iso(k.activatesAt) ?? ''}`
      : state === 'active'
        ? 'active'
        : `retired, published until ${iso(k.expiresAt) ?? '(expiry unknown)'}`;
  return `${k.kid}  ${k.alg}  ${text}`;
}

const rotate = leaf({
  name: 'gatehouse keys rotate',
  summary: 'add a new signing key',
  synopsis: '[--alg ES256|EdDSA|RS256] [--immediate] [--json]',
  description:
    'The new key is published in the JWKS at once and signs after auth.keyActivationDelay\n' +
    '(default 120 s), so verifiers that cache the JWKS learn it first. Old public keys stay\n' +
    'published until every token they signed has expired. The keys live in the store: every\n' +
    'running server (each replica) signs with the new key within auth.revocationSyncInterval.',
  options: {
    alg: {
      type: 'string',
      value: 'ALG',
      help: `${SIGNING_ALGS.join(', ')} (default auth.signingAlg)`,
    },
    immediate: {
      type: 'boolean',
      default: false,
      help: 'sign with it at once (after a compromise)',
    },
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    const alg = values.alg ?? config.auth.signingAlg;
    if (!(SIGNING_ALGS as readonly string[]).includes(alg))
      throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
    const delay = values.immediate ? 0 : config.auth.keyActivationDelay;
    const { kid, activatesAt } = await withStore(config, async (store) => {
      // Compare-and-swap on the store's ring: a rotation made at the same moment by another
      // process is kept, and this one lands after it.
      const ring = await openKeyRing(config, store, systemClock);
      const kid = await ring.rotate(alg as SigningAlg, delay);
      const activatesAt = iso(Math.floor(Date.now() / 1000) + delay);
      await recordAdmin(config, store, {
        action: 'key.rotate',
        resource: `key:${kid}`,
        command: 'gatehouse keys rotate',
        details: { alg, activatesAt, immediate: values.immediate },
      });
      return { kid, activatesAt };
    });
    io.out(
      values.json
        ? JSON.stringify({ kid, alg, activatesAt })
        : `new signing key ${kid} (${alg}), published now, signing from ${activatesAt ?? ''}; ` +
            'previous keys stay published until their tokens expire',
    );
  },
});

const listCommand = leaf({
  name: 'gatehouse keys list',
  summary: 'show the signing keys: pending, active or retired (public parts only)',
  synopsis: '[--json]',
  options: { ...JSON_OPTION, ...CONFIG_OPTIONS, ...HELP_OPTION },
  async run({ values }, io) {
    const config = configFrom(values);
    const ring = await withStore(config, (store) => openKeyRing(config, store, systemClock));
    const now = Math.floor(Date.now() / 1000);
    const keys = ring.list();
    if (!values.json) {
      for (const k of keys) io.out(keyLine(k, now));
      return;
    }
    const rows = keys.map((k) => ({
      ...k,
      state: keyState(k, now),
      createdAt: iso(k.createdAt),
      activatesAt: iso(k.activatesAt),
      retiredAt: iso(k.retiredAt),
      expiresAt: iso(k.expiresAt),
    }));
    io.out(JSON.stringify(rows));
  },
});

export const command: Group = {
  kind: 'group',
  name: 'gatehouse keys',
  summary: 'list and rotate the signing keys',
  commands: [listCommand, rotate],
};
