/**
 * @module cli/commands/datasets — `gatehouse datasets purge`: the dataset retention job, run
 * once on the local store (the data dir's SQLite file, or `store.url`) and the data dir's blob
 * store — what a running server also does at start-up and daily. Datasets deleted more than N
 * days ago (default `registry.retentionDays`) are purged, each recorded as an audit event on
 * this host's chain (`audit.replicaId`), and their files deleted unless a model version or
 * another dataset still uses them.
 */
import { join } from 'node:path';
import { chainId, createAuditLog, jwsSigner } from '../../audit/index.js';
import { openKeyRing } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { BlobStore, DatasetService } from '../../registry/index.js';
import { leaf, UsageError, type Group } from '../command.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, JSON_OPTION, withStore } from '../context.js';

const purge = leaf({
  name: 'gatehouse datasets purge',
  summary: 'purge datasets deleted longer ago than the retention, and their unused files',
  synopsis: '[--days N] [--json]',
  description:
    'Purges the datasets soft-deleted more than N days ago (default registry.retentionDays),\n' +
    "each recorded first as an audit event on this host's chain, then deletes each of their\n" +
    'files that no model version and no remaining dataset version uses.',
  options: {
    days: {
      type: 'string',
      value: 'N',
      help: 'retention in days (default registry.retentionDays)',
    },
    ...JSON_OPTION,
    ...CONFIG_OPTIONS,
    ...HELP_OPTION,
  },
  async run({ values }, io) {
    const config = configFrom(values);
    const days = values.days === undefined ? config.registry.retentionDays : Number(values.days);
    if (!Number.isInteger(days) || days < 0) {
      throw new UsageError('--days must be a non-negative integer');
    }
    const report = await withStore(config, async (store) => {
      const ring = await openKeyRing(config, store, systemClock);
      const log = config.audit.enabled
        ? createAuditLog({
            store: store.audit,
            chain: chainId(config),
            sign: jwsSigner(() => ring.signingKey()),
            issuer: config.auth.issuer,
            checkpointEvery: config.audit.checkpointEvery,
          })
        : undefined;
      try {
        const service = new DatasetService({
          store,
          blobs: new BlobStore(join(config.dataDir, 'blobs'), {
            minFreeBytes: config.registry.minFreeBytes,
          }),
          clock: systemClock,
          limits: { maxBlobBytes: config.registry.maxBlobBytes, retentionDays: days },
          audit: log,
          issuer: config.auth.issuer,
        });
        return await service.purge();
      } finally {
        await log?.close();
      }
    });
    if (values.json) io.out(JSON.stringify(report));
    else if (report.datasets.length === 0) io.out('nothing to purge');
    else {
      io.out(`purged ${String(report.datasets.length)} dataset(s): ${report.datasets.join(', ')}`);
      io.out(
        `deleted ${String(report.deleted.length)} file(s); kept ${String(report.kept.length)} still in use`,
      );
    }
  },
});

export const command: Group = {
  kind: 'group',
  name: 'gatehouse datasets',
  summary: 'purge deleted datasets past their retention',
  commands: [purge],
};
