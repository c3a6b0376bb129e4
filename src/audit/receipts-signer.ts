/**
 * @module audit/receipts-signer — signs receipts without blocking the main thread. In `batch`
 * mode (the default) receipts wait for the next turn of the event loop and are signed together:
 * one signature over their RFC 9162 Merkle root, computed on the thread pool, while receipts that
 * arrive meanwhile form the next batch (group commit: no timer, a batch is whatever arrived while
 * the previous signature was being computed, so an idle server signs each receipt at once and a
 * busy one amortises a signature over many; `delayMs` holds a batch open longer, for bigger
 * batches at the cost of that much latency). In `single` mode each receipt is its own JWS, also
 * signed on the thread pool. bench/receipts.ts measures both.
 */
import { GatewayError } from '../errors.js';
import { epochSeconds, type Clock } from '../lib/clock.js';
import { canonicalize } from './canonical.js';
import { buildTree, LEAF_PREFIX, prefixedLeafHash } from './receipts-merkle.js';
import { boundSigner, encodedHeader, signOnPool, type ReceiptSigningKey } from './receipts-sign.js';
import {
  RECEIPT_BATCH_TYP,
  RECEIPT_TYP,
  RECEIPT_VDS,
  encodeClaims,
  encodeProof,
  type ReceiptBatchPayload,
  type ReceiptSubject,
} from './receipts.js';

export type { ReceiptSigningKey } from './receipts-sign.js';

/** Where the signer gets its key: `KeyRing` fits. Asked once per signature (rotation-safe). */
export interface ReceiptKeys {
  signingKey(): ReceiptSigningKey;
}

export type ReceiptMode = 'batch' | 'single';

export interface ReceiptSignerOptions {
  keys: ReceiptKeys;
  /** `iss` of every receipt: the server's issuer URL. */
  issuer: string;
  clock: Clock;
  /** Default `batch`. */
  mode?: ReceiptMode;
  /** Most receipts under one signature (default 512; a proof then holds ≤ 9 hashes). */
  maxBatch?: number;
  /**
   * Milliseconds a batch stays open for more receipts after its first (default 0: only the
   * current turn of the event loop). Larger batches cost less CPU each and add this much latency.
   */
  delayMs?: number;
}

export interface ReceiptSigner {
  readonly mode: ReceiptMode;
  /** The receipt of one response. Rejects only when signing fails (no key) or after close. */
  sign(subject: ReceiptSubject): Promise<string>;
  /** Signs what is pending, then refuses new receipts. */
  close(): Promise<void>;
  /** Receipts and signatures made so far (their ratio is the mean batch size). */
  stats(): { receipts: number; signatures: number };
}

/** A receipt was asked for after the signer closed (the server is shutting down). */
export class ReceiptSignerClosedError extends GatewayError {
  constructor() {
    super('INTERNAL', 'the receipt signer is closed', 503);
  }
}

interface Pending {
  /** 0x00 ‖ the claims' bytes: hashed as the Merkle leaf, and sent without the prefix. */
  leaf: Buffer;
  resolve: (receipt: string) => void;
  reject: (err: unknown) => void;
}

const b64 = (b: Buffer): string => b.toString('base64url');

/** Creates a receipt signer (see the module comment for the two modes). */
export function createReceiptSigner(options: ReceiptSignerOptions): ReceiptSigner {
  const { keys, issuer, clock } = options;
  const mode = options.mode ?? 'batch';
  const maxBatch = options.maxBatch ?? 512;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 2 ** 20) {
    throw new RangeError('maxBatch must be an integer 1–1048576');
  }
  const delayMs = options.delayMs ?? 0;
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 1000) {
    throw new RangeError('delayMs must be 0–1000');
  }
  let closed = false;
  let inFlight = 0;
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let pending: Pending[] = [];
  let drained: (() => void) | null = null;
  let receipts = 0;
  let signatures = 0;

  const claimsOf = (s: ReceiptSubject): string => encodeClaims(s, issuer, epochSeconds(clock));

  const settle = () => {
    inFlight--;
    if (pending.length > 0) {
      // These receipts waited for a signature already: no delay for them.
      scheduled = true;
      setImmediate(flush);
    } else if (inFlight === 0 && drained !== null) drained();
  };

  const signBatch = async (batch: Pending[]): Promise<void> => {
    const key = keys.signingKey();
    const signer = boundSigner(key);
    const tree = buildTree(batch.map((p) => prefixedLeafHash(p.leaf)));
    const payload: ReceiptBatchPayload = {
      iss: issuer,
      iat: epochSeconds(clock),
      vds: RECEIPT_VDS,
      tree_size: batch.length,
      root_hash: b64(tree.root),
    };
    const input = `${encodedHeader(key.alg, key.kid, RECEIPT_BATCH_TYP)}.${b64(Buffer.from(canonicalize({ ...payload })))}`;
    const signature = await signOnPool(signer, Buffer.from(input));
    signatures++;
    receipts += batch.length;
    const jws = `${input}.${b64(signature)}`;
    const names = new Map<Buffer, string>();
    const name = (h: Buffer): string => {
      let s = names.get(h);
      if (s === undefined) {
        s = b64(h);
        names.set(h, s);
      }
      return s;
    };
    batch.forEach((p, index) => {
      const path = (tree.paths[index] ?? []).map(name);
      const proof = Buffer.from(encodeProof(index, path));
      p.resolve(`${jws}~${p.leaf.toString('base64url', 1)}~${b64(proof)}`);
    });
  };

  const flush = () => {
    scheduled = false;
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending.length <= maxBatch ? pending : pending.slice(0, maxBatch);
    pending = pending.length <= maxBatch ? [] : pending.slice(maxBatch);
    inFlight++;
    signBatch(batch)
      .catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      })
      .finally(settle);
  };

  // A full batch, or a closing signer, does not wait for the delay to run out.
  const hurry = () => {
    clearTimeout(timer);
    timer = undefined;
    setImmediate(flush);
  };

  // One batch signature in flight at a time: what arrives meanwhile is the next batch.
  const schedule = () => {
    if (inFlight > 0) return; // settle() schedules the next batch
    if (scheduled) {
      if (timer !== undefined && (pending.length >= maxBatch || closed)) hurry();
      return;
    }
    scheduled = true;
    if (delayMs > 0) timer = setTimeout(flush, delayMs);
    else setImmediate(flush);
  };

  const signSingle = async (claims: string): Promise<string> => {
    const key = keys.signingKey();
    const signer = boundSigner(key);
    const input = `${encodedHeader(key.alg, key.kid, RECEIPT_TYP)}.${b64(Buffer.from(claims))}`;
    const signature = await signOnPool(signer, Buffer.from(input));
    signatures++;
    receipts++;
    return `${input}.${b64(signature)}`;
  };

  return {
    mode,
    sign(subject) {
      if (closed) return Promise.reject(new ReceiptSignerClosedError());
      let claims: string;
      try {
        claims = claimsOf(subject);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
      }
      if (mode === 'single') {
        inFlight++;
        const done = signSingle(claims);
        void done.then(settle, settle);
        return done;
      }
      return new Promise<string>((resolve, reject) => {
        pending.push({ leaf: Buffer.from(LEAF_PREFIX + claims), resolve, reject });
        schedule();
      });
    },
    stats: () => ({ receipts, signatures }),
    async close() {
      closed = true;
      schedule();
      if (inFlight === 0 && pending.length === 0) return;
      await new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
  };
}
