/** @module audit — what is recorded: events, chains, aggregates of anonymous refusals. */
export type * from './types.js';
export { canonicalize, type Canonical } from './canonical.js';
export {
  AnonymousFailures,
  type AnonymousFailuresOptions,
  type AnonymousRefusal,
} from './anonymous.js';
export { inputDigest, textDigest, vectorsDigest } from './digests.js';
