/**
 * @module cli/commands/audit — `gatehouse audit verify`: recomputes every chain of the local
 * store (the data dir's SQLite file, or `store.url`) and checks every checkpoint against public
 * keys only: the data dir's key file (every key it ever had), or a JWKS file given with --jwks
 * (e.g. the union of several replicas' `/v1/audit/keys`). Exit 0 when intact, 1 at the first
 * problem, which is printed with its chain, seq and kind.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { unsignedBound, verifyAudit, type VerifyReport } from '../../audit/index.js';
import { keyFilePath, openKeyRing } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { leaf, UsageError, type Group } from '../command.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, JSON_OPTION, withStore } from '../context.js';

/** A JWKS file's keys; public members are checked by the verifier. */
function jwksFile(path: string): { keys: JWK[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new UsageError(`--jwks ${path}: not a readable JSON file`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new UsageError(`--jwks ${path}: not a JWK Set (no "keys")`);
  return { keys: keys as JWK[] };
}

/** The report as lines for a person. */
export function reportLines(r: VerifyReport): string[] {
  const lines = r.chains.map(
    (c) =>
      `chain ${c.chain}: ${String(c.events)} events, ${String(c.checkpoints)} checkpoints` +
      (c.lastCheckpointSeq === null
        ? ', none signed yet'
        : c.lastCheckpointSeq < c.headSeq
          ? `, ${String(c.headSeq - c.lastCheckpointSeq)} after the last checkpoint`
          : ''),
  );
  if (r.ok) return [...lines, `audit log ok: ${String(r.chains.length)} chain(s) verified`];
  const p = r.problem;
  return [...lines, `chain ${p.chain} seq ${String(p.seq)}: ${p.kind}: ${p.message}`];
}

const verify = leaf({
  name: 'gatehouse audit verify',
  summary: 'recompute every audit chain and check its signed checkpoints',
  synopsis: '[--jwks FILE] [--json]',
  description:
    'Reads the store of the data dir (or store.url) and checks with public keys only.\n' +
    'Exit status 0: every chain intact; 1: the first problem is printed (chain, seq, kind).',
  options: {
    jwks: { type: 'string', value: 'FILE', help: 'JWK Set to verify against (default: key file)' },
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    const jwks =
      values.jwks !== undefined
        ? jwksFile(values.jwks)
        : existsSync(keyFilePath(config.dataDir))
          ? (await openKeyRing(config, systemClock)).auditJwks()
          : { keys: [] };
    const maxUnsigned = unsignedBound(config.audit.checkpointEvery);
    const report = await withStore(config, (store) =>
      verifyAudit(store.audit, jwks, { maxUnsigned }),
    );
    if (values.json) io.out(JSON.stringify(report));
    else for (const line of reportLines(report)) io.out(line);
    if (!report.ok) {
      const p = report.problem;
      throw new Error(`audit verify: chain ${p.chain} seq ${String(p.seq)}: ${p.kind}`);
    }
  },
});

export const command: Group = {
  kind: 'group',
  name: 'gatehouse audit',
  summary: 'verify the tamper-evident audit log',
  commands: [verify],
};
