/**
 * @module test/support/audit-writer-child — a process that writes audit events as fast as 16
 * concurrent callers can, printing its public key first (`KEY <jwk>`) and then every position
 * it was told is durable (`ACK <seq> <hash>`), until it is killed. Args: store URL or SQLite
 * path, chain id.
 */
import { aSigningKey, anEvent } from '../../src/audit/fixtures.js';
import { createAuditLog } from '../../src/audit/index.js';
import { openStore } from '../../src/store/index.js';

const [target = '', chain = 'kill9'] = process.argv.slice(2);
const store = await openStore(
  target.startsWith('postgres')
    ? { url: target, dataDir: '.', schema: process.env.AUDIT_SCHEMA }
    : { url: `sqlite:${target}`, dataDir: '.' },
);
const key = await aSigningKey();
process.stdout.write(`KEY ${JSON.stringify(key.jwks.keys[0])}\n`);
const log = createAuditLog({
  store: store.audit,
  chain,
  sign: key.sign,
  issuer: 'kill9',
  checkpointEvery: 100,
});
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (;;) {
      const p = await log.record(anEvent());
      process.stdout.write(`ACK ${String(p.seq)} ${p.hash}\n`);
    }
  }),
);
