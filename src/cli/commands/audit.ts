/**
 * @module cli/commands/audit — `gatehouse audit verify`: recomputes every chain of the local
 * store (the data dir's SQLite file, or `store.url`) and checks every checkpoint against public
 * keys only: the store's key ring (every key it ever had), or a JWKS file given with --jwks
 * (e.g. the union of several replicas' `/v1/audit/keys`). Exit 0 when intact, 1 at the first
 * problem, which is printed with its chain, seq and kind.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { JWK } from 'jose';
import {
  chainId,
  createAuditLog,
  csvLine,
  CSV_HEADER,
  jwsSigner,
  purgeExpired,
  jsonLine,
  parseAuditQuery,
  scanEvents,
  unsignedBound,
  verifyAudit,
  type VerifyReport,
} from '../../audit/index.js';
import { BadRequestError } from '../../errors.js';
import { hasSigningKeys, openKeyRing } from '../../auth/index.js';
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
    jwks: {
      type: 'string',
      value: 'FILE',
      help: 'JWK Set to verify against (default: the signing keys in the store)',
    },
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    const maxUnsigned = unsignedBound(config.audit.checkpointEvery);
    const report = await withStore(config, async (store) => {
      // Public keys only, and none created: no ring yet means nothing can be signed yet.
      const jwks =
        values.jwks !== undefined
          ? jwksFile(values.jwks)
          : (await hasSigningKeys(config, store))
            ? (await openKeyRing(config, store, systemClock)).auditJwks()
            : { keys: [] };
      return verifyAudit(store.audit, jwks, { maxUnsigned });
    });
    if (values.json) io.out(JSON.stringify(report));
    else for (const line of reportLines(report)) io.out(line);
    if (!report.ok) {
      const p = report.problem;
      throw new Error(`audit verify: chain ${p.chain} seq ${String(p.seq)}: ${p.kind}`);
    }
  },
});

const FILTER_OPTIONS = {
  from: { type: 'string', value: 'T', help: 'from this RFC 3339 time (inclusive)' },
  to: { type: 'string', value: 'T', help: 'until this RFC 3339 time (exclusive)' },
  subject: { type: 'string', value: 'S', help: 'token subject' },
  client: { type: 'string', value: 'ID', help: 'OAuth client id' },
  action: { type: 'string', value: 'A', help: 'action (inference:invoke, token.issue, …)' },
  model: { type: 'string', value: 'ID', help: 'model id' },
  decision: { type: 'string', value: 'D', help: 'allow, deny or error' },
  status: { type: 'string', value: 'N', help: 'HTTP status' },
} as const;

const exportCommand = leaf({
  name: 'gatehouse audit export',
  summary: 'write the selected audit events as JSON Lines or CSV',
  synopsis: '[--format jsonl|csv] [--out FILE] [filters]',
  description:
    'Reads the store of the data dir (or store.url) page by page, so any selection streams in\n' +
    'bounded memory. Filters as GET /v1/audit/events; CSV cells that a spreadsheet would run as\n' +
    "a formula get a leading '.",
  options: {
    format: { type: 'string', value: 'F', help: 'jsonl (default) or csv' },
    out: { type: 'string', value: 'FILE', help: 'write to FILE instead of stdout' },
    ...FILTER_OPTIONS,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const params: Record<string, string> = {};
    for (const name of Object.keys(FILTER_OPTIONS)) {
      const v = (values as Record<string, unknown>)[name];
      if (typeof v === 'string') params[name] = v;
    }
    let query;
    try {
      ({ query } = parseAuditQuery(params, []));
    } catch (err) {
      if (err instanceof BadRequestError) throw new UsageError(`--${err.message}`);
      throw err;
    }
    const format = values.format ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv')
      throw new UsageError('--format must be jsonl or csv');
    const line = format === 'csv' ? csvLine : jsonLine;
    const config = configFrom(values);
    // Opened first, so a bad path fails here with its message rather than as a stream event.
    const file =
      values.out === undefined
        ? undefined
        : (await open(values.out, 'w', 0o600)).createWriteStream();
    let failed: Error | undefined;
    file?.on('error', (err) => {
      failed = err;
    });
    const write = async (text: string) => {
      if (failed !== undefined) throw failed;
      if (file === undefined) io.out(text);
      else if (!file.write(`${text}\n`)) await once(file, 'drain');
    };
    try {
      await withStore(config, async (store) => {
        if (format === 'csv') await write(CSV_HEADER);
        for await (const row of scanEvents((after, n) => store.audit.query(query, after, n))) {
          await write(line(row));
        }
      });
    } finally {
      if (file !== undefined) {
        file.end();
        if (!file.closed) await once(file, 'close');
      }
    }
    if (failed !== undefined) throw failed;
  },
});

const purge = leaf({
  name: 'gatehouse audit purge',
  summary: 'delete events older than the retention, behind a signed purge record',
  synopsis: '[--days N] [--json]',
  description:
    'Purges each chain up to its last event older than N days (default audit.retentionDays).\n' +
    "The purge is recorded first as an audit event on this host's chain (audit.replicaId), then\n" +
    'a purge record signed with the current key lets verify restart the chain after it.',
  options: {
    days: { type: 'string', value: 'N', help: 'retention in days (default audit.retentionDays)' },
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    const days = values.days === undefined ? config.audit.retentionDays : Number(values.days);
    if (days === undefined)
      throw new UsageError('--days is required (audit.retentionDays is not set)');
    if (!Number.isInteger(days) || days < 1)
      throw new UsageError('--days must be a positive integer');
    const results = await withStore(config, async (store) => {
      const ring = await openKeyRing(config, store, systemClock);
      const sign = jwsSigner(() => ring.signingKey());
      const log = createAuditLog({
        store: store.audit,
        chain: chainId(config),
        sign,
        issuer: config.auth.issuer,
        checkpointEvery: config.audit.checkpointEvery,
      });
      try {
        return await purgeExpired({
          store: store.audit,
          log,
          sign,
          issuer: config.auth.issuer,
          clock: systemClock,
          retentionDays: days,
        });
      } finally {
        await log.close();
      }
    });
    if (values.json) io.out(JSON.stringify(results));
    else if (results.length === 0) io.out('nothing to purge');
    else
      for (const r of results)
        io.out(
          `chain ${r.chain}: purged ${String(r.deleted)} events through seq ${String(r.throughSeq)}`,
        );
  },
});

export const command: Group = {
  kind: 'group',
  name: 'gatehouse audit',
  summary: 'verify, export and purge the tamper-evident audit log',
  commands: [verify, exportCommand, purge],
};
