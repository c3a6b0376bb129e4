/** @module audit — the audit area's public surface: the log, its encoding, verification. */
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';

export type * from './types.js';
export { canonicalize, type Canonical } from './canonical.js';
export { BODY_KEYS, eventText, linkHash, ZERO_HASH } from './chain.js';
export {
  CHECKPOINT_TYP,
  PURGE_TYP,
  jwsSigner,
  PublicKeys,
  verifyCheckpoint,
  type CheckpointClaims,
  type PayloadSigner,
  type SignerKey,
} from './checkpoint.js';
export {
  csvLine,
  CSV_HEADER,
  decodeCursor,
  encodeCursor,
  eventOf,
  FILTERS,
  jsonLine,
  MAX_PAGE,
  parseAuditQuery,
  scanEvents,
  type ParsedAuditQuery,
} from './query.js';
export { purgeExpired, type PurgeOptions, type PurgeResult } from './retention.js';
export { createAuditLog, type AuditLogOptions, type AuditLogSink } from './writer.js';
export {
  unsignedBound,
  verifyAudit,
  type AuditProblem,
  type AuditProblemKind,
  type ChainReport,
  type VerifyOptions,
  type VerifyReport,
} from './verify.js';

/** This process's chain id: `audit.replicaId`, or the host name. */
export function chainId(config: Pick<Config, 'audit'>): string {
  return config.audit.replicaId ?? hostname();
}
export {
  AnonymousFailures,
  type AnonymousFailuresOptions,
  type AnonymousRefusal,
} from './anonymous.js';
export {
  embeddingsOutputSha256,
  moderationsOutputSha256,
  outputSha256,
  promptInput,
  promptSha256,
  textOutputSha256,
  TextOutputHasher,
  type DigestEndpoint,
} from './digests.js';
export {
  createReceiptSigner,
  ReceiptSignerClosedError,
  type ReceiptSigner,
  type ReceiptSignerOptions,
} from './receipts-signer.js';
export { verifyReceipt, ReceiptError } from './receipts-verify.js';
export type { ReceiptClaims, ReceiptSubject } from './receipts.js';
export { systemEvent, type SystemEventFacts } from './system-event.js';
