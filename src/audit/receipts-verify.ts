/**
 * @module audit/receipts-verify — offline verification of a receipt against a JWK Set of public
 * keys: strict header (`{alg, kid, typ}` and nothing else, the exact `typ`, an allowed asymmetric
 * `alg`), the key found by `kid`, the signature checked by jose, canonical payloads, the Merkle
 * inclusion proof of a batched receipt, and — when the texts are given — the digests. Every
 * refusal is a ReceiptError with a stable `reason`.
 */
import { compactVerify, errors as joseErrors, importJWK, type JWK } from 'jose';
import { parsePublicJwk } from '../auth/index.js';
import { SIGNING_ALGS } from '../config/index.js';
import { GatewayError } from '../errors.js';
import { canonicalize, type Canonical } from './canonical.js';
import { outputSha256, promptSha256 } from './digests.js';
import { leafHash, rootFromPath } from './receipts-merkle.js';
import {
  invalidClaim,
  MAX_PROOF_DEPTH,
  MAX_RECEIPT_LENGTH,
  RECEIPT_BATCH_TYP,
  RECEIPT_TYP,
  RECEIPT_VDS,
  type ReceiptClaims,
} from './receipts.js';

/** Why a receipt was refused. */
export type ReceiptRejection =
  | 'too_large'
  | 'malformed'
  | 'bad_header'
  | 'bad_typ'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'key_mismatch'
  | 'bad_signature'
  | 'bad_payload'
  | 'bad_proof'
  | 'bad_claims'
  | 'wrong_issuer'
  | 'prompt_mismatch'
  | 'output_mismatch';

/** A receipt failed verification; `message` is one line: `<reason>: <detail>`. */
export class ReceiptError extends GatewayError {
  readonly reason: ReceiptRejection;

  constructor(reason: ReceiptRejection, detail: string) {
    super('RECEIPT_INVALID', `${reason}: ${detail}`, 400);
    this.reason = reason;
  }
}

export interface VerifyReceiptOptions {
  /** The prompt value as sent (`messages`, `prompt` or `input`): checked against prompt_sha256. */
  prompt?: Canonical;
  /** The output: text (chat, completions) or structured (vectors, results); see audit/digests. */
  output?: string | Canonical;
  /** Accepted `alg` values (default: the asymmetric algorithms the server signs with). */
  algorithms?: readonly string[];
  /** When given, `iss` must equal it. */
  issuer?: string;
}

/** A JWK Set: `ring.jwks()`, `ring.auditJwks()`, or a file or URL's content. */
export interface ReceiptJwks {
  readonly keys: readonly unknown[];
}

const B64U = /^[A-Za-z0-9_-]+$/;
const HEADER_MEMBERS = ['alg', 'kid', 'typ'];
const fail = (reason: ReceiptRejection, detail: string): never => {
  throw new ReceiptError(reason, detail);
};

/** Strict base64url: the alphabet only, no padding, and the one canonical encoding. */
function decode(segment: string, what: string, reason: ReceiptRejection): Buffer {
  const bytes = B64U.test(segment) ? Buffer.from(segment, 'base64url') : undefined;
  if (bytes?.toString('base64url') !== segment) fail(reason, `${what} is not base64url`);
  return bytes as Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The JSON object `bytes` hold, which must be in its RFC 8785 form. */
function canonicalObject(bytes: Uint8Array, what: string, reason: ReceiptRejection) {
  let value: unknown;
  let text = '';
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return fail(reason, `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(reason, `${what} is not a JSON object`);
  }
  if (canonicalize(value as Canonical) !== text) fail(reason, `${what} is not canonical JSON`);
  return value as Record<string, unknown>;
}

/** Header checks and the key that must have signed `jws`. */
async function keyFor(
  jws: string,
  typ: string,
  jwks: ReceiptJwks,
  algorithms: readonly string[],
): Promise<Awaited<ReturnType<typeof importJWK>>> {
  const parts = jws.split('.');
  // An empty signature is left to the alg check (`alg: none` is refused by name).
  if (parts.length !== 3 || !B64U.test(parts[0] ?? '') || !B64U.test(parts[1] ?? '')) {
    fail('malformed', 'not a compact JWS');
  }
  if (!/^[A-Za-z0-9_-]*$/.test(parts[2] ?? '')) fail('malformed', 'signature is not base64url');
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(decode(parts[0] ?? '', 'header', 'malformed')));
  } catch (err) {
    if (err instanceof ReceiptError) throw err;
    fail('malformed', 'header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return fail('bad_header', 'header is not a JSON object');
  }
  const h = header as Record<string, unknown>;
  const extra = Object.keys(h).find((m) => !HEADER_MEMBERS.includes(m));
  if (extra !== undefined) fail('bad_header', `unexpected header member "${extra}"`);
  if (h.typ !== typ) fail('bad_typ', `typ must be ${typ}`);
  if (typeof h.alg !== 'string' || !algorithms.includes(h.alg)) {
    fail('alg_not_allowed', `alg ${JSON.stringify(h.alg ?? null)} is not allowed`);
  }
  if (typeof h.kid !== 'string' || h.kid.length === 0) fail('bad_header', 'kid is missing');
  const alg = h.alg as string;
  const matches = jwks.keys.filter(
    (k) => typeof k === 'object' && k !== null && (k as { kid?: unknown }).kid === h.kid,
  );
  if (matches.length !== 1) {
    fail('unknown_key', matches.length === 0 ? 'kid not in the key set' : 'kid is ambiguous');
  }
  const parsed = parsePublicJwk(matches[0]);
  if ('error' in parsed) return fail('unknown_key', `key is unusable (${parsed.error})`);
  const jwk: JWK = parsed.jwk;
  if (jwk.alg !== undefined && jwk.alg !== alg) fail('key_mismatch', `key is for ${jwk.alg}`);
  try {
    return await importJWK(jwk, alg);
  } catch {
    return fail('key_mismatch', `key does not fit ${alg}`);
  }
}

/** Verifies the signature of `jws` (header `typ` = `typ`); returns its payload bytes. */
async function verifiedPayload(
  jws: string,
  typ: string,
  jwks: ReceiptJwks,
  algorithms: readonly string[],
): Promise<Uint8Array> {
  const key = await keyFor(jws, typ, jwks, algorithms);
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [...algorithms] });
    return payload;
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      return fail('bad_signature', 'signature does not verify');
    }
    if (err instanceof joseErrors.JWSInvalid) return fail('malformed', 'not a valid JWS');
    return fail('key_mismatch', 'key does not fit the algorithm');
  }
}

/** The leaf claims of a batched receipt, once its proof leads to the signed root. */
function batchedLeaf(batch: Record<string, unknown>, leafSeg: string, proofSeg: string): Buffer {
  const { vds, tree_size: size, root_hash: root } = batch;
  const members = Object.keys(batch).sort().join(',');
  if (members !== 'iat,iss,root_hash,tree_size,vds' || vds !== RECEIPT_VDS) {
    fail('bad_payload', 'not a receipt batch payload');
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    fail('bad_payload', 'tree_size must be a positive integer');
  }
  const rootBytes = decode(typeof root === 'string' ? root : '', 'root_hash', 'bad_payload');
  if (rootBytes.length !== 32) fail('bad_payload', 'root_hash must be 32 bytes');
  const leaf = decode(leafSeg, 'leaf', 'malformed');
  const proof = canonicalObject(decode(proofSeg, 'proof', 'bad_proof'), 'proof', 'bad_proof');
  const { index, path } = proof;
  if (Object.keys(proof).length !== 2 || typeof index !== 'number' || !Array.isArray(path)) {
    fail('bad_proof', 'proof must be {"index", "path"}');
  }
  const hashes = (path as unknown[]).map((p) => {
    const bytes = decode(typeof p === 'string' ? p : '', 'proof hash', 'bad_proof');
    if (bytes.length !== 32) fail('bad_proof', 'proof hash must be 32 bytes');
    return bytes;
  });
  if (hashes.length > MAX_PROOF_DEPTH) fail('bad_proof', 'proof is too long');
  const computed = rootFromPath(leafHash(leaf), index as number, size as number, hashes);
  if (computed === null) return fail('bad_proof', 'proof does not fit the tree size');
  if (!computed.equals(rootBytes)) fail('bad_proof', 'leaf is not in the signed batch');
  return leaf;
}

/**
 * Verifies `receipt` (either format) with the public keys of `jwks`; resolves with its claims,
 * or rejects with a ReceiptError naming the first thing wrong.
 */
export async function verifyReceipt(
  receipt: string,
  jwks: ReceiptJwks,
  options: VerifyReceiptOptions = {},
): Promise<ReceiptClaims> {
  const algorithms = options.algorithms ?? SIGNING_ALGS;
  if (receipt.length === 0) fail('malformed', 'empty receipt');
  if (receipt.length > MAX_RECEIPT_LENGTH) fail('too_large', 'receipt is too long');
  const segments = receipt.split('~');
  let claimBytes: Uint8Array;
  if (segments.length === 1) {
    claimBytes = await verifiedPayload(receipt, RECEIPT_TYP, jwks, algorithms);
  } else if (segments.length === 3) {
    const [jws = '', leafSeg = '', proofSeg = ''] = segments;
    const payload = await verifiedPayload(jws, RECEIPT_BATCH_TYP, jwks, algorithms);
    const batch = canonicalObject(payload, 'batch payload', 'bad_payload');
    claimBytes = batchedLeaf(batch, leafSeg, proofSeg);
    const leafIss = canonicalObject(claimBytes, 'leaf', 'bad_claims').iss;
    if (leafIss !== batch.iss) fail('bad_claims', 'leaf iss differs from the batch iss');
  } else {
    return fail('malformed', 'expected a compact JWS or <JWS>~<leaf>~<proof>');
  }
  const claims = canonicalObject(claimBytes, 'claims', 'bad_claims');
  const bad = invalidClaim(claims);
  if (bad !== null) fail('bad_claims', `claim ${bad} is missing or malformed`);
  const c = claims as unknown as ReceiptClaims;
  if (options.issuer !== undefined && c.iss !== options.issuer) {
    fail('wrong_issuer', `iss is ${c.iss}, expected ${options.issuer}`);
  }
  if (options.prompt !== undefined && promptSha256(options.prompt) !== c.prompt_sha256) {
    fail('prompt_mismatch', 'the prompt does not match prompt_sha256');
  }
  if (options.output !== undefined && outputSha256(options.output) !== c.output_sha256) {
    fail('output_mismatch', 'the output does not match output_sha256');
  }
  return c;
}
