/** @module audit — what is recorded: events, chains, aggregates of anonymous refusals. */
export type * from './types.js';
export { canonicalize, type Canonical } from './canonical.js';
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
