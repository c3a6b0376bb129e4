/**
 * @module audit/receipts — signed receipts: what a receipt claims and its two wire formats.
 *
 * - `single`: one compact JWS per response, header `{alg, kid, typ: "gatehouse-receipt+jwt"}`,
 *   payload the RFC 8785 encoding of the claims. Any JOSE library verifies it.
 * - `batch` (the default; see bench/receipts.ts for why): `<batch JWS>~<leaf>~<proof>`. The
 *   batch JWS (`typ: "gatehouse-receipt-batch+jwt"`) signs the RFC 9162 Merkle root over the
 *   receipts of one batch; `leaf` is base64url of the RFC 8785 claims (the leaf's bytes); `proof`
 *   is base64url of the RFC 8785 `{"index": i, "path": [base64url hash, …]}`, its inclusion path.
 *   The `~` joining follows SD-JWT; the tree is the one COSE receipts use (RFC9162_SHA256).
 */

/** `typ` of a per-response receipt JWS. */
export const RECEIPT_TYP = 'gatehouse-receipt+jwt';
/** `typ` of the JWS that signs a batch root (never valid as a receipt on its own). */
export const RECEIPT_BATCH_TYP = 'gatehouse-receipt-batch+jwt';
/** The verifiable data structure a batch root is computed with. */
export const RECEIPT_VDS = 'RFC9162_SHA256';
/** Longest receipt accepted (a batch of 2^20 receipts needs ~2 KiB). */
export const MAX_RECEIPT_LENGTH = 16_384;
/** Longest inclusion path accepted. */
export const MAX_PROOF_DEPTH = 32;

/** What one receipt asserts about one inference response. */
export interface ReceiptClaims {
  /** The server's issuer URL (`auth.issuer`). */
  iss: string;
  /** The caller: subject of its token. */
  sub: string;
  /** Its OAuth client id, null when its token carries none (some external IdPs). */
  client_id: string | null;
  /** The HTTP request id, as in the audit event. */
  request_id: string;
  /** The model id the request named. */
  model: string;
  /** Lower-case hex SHA-256 of the model artifact, null for models without one (echo). */
  model_sha256: string | null;
  /** See audit/digests: what exactly these digests cover, per endpoint. */
  prompt_sha256: string;
  output_sha256: string;
  /** Seconds since the epoch at signing. */
  iat: number;
  /** The audit event of this response: its chain and 1-based sequence number. */
  chain: string;
  seq: number;
}

/** What the caller supplies; the signer adds `iss` and `iat`. */
export type ReceiptSubject = Omit<ReceiptClaims, 'iss' | 'iat'>;

/** The payload of a batch JWS. */
export interface ReceiptBatchPayload {
  iss: string;
  iat: number;
  vds: typeof RECEIPT_VDS;
  /** Number of receipts in the batch (the Merkle tree size). */
  tree_size: number;
  /** base64url of the 32-byte Merkle tree root. */
  root_hash: string;
}

/** The inclusion proof of one receipt in its batch. */
export interface ReceiptProof {
  index: number;
  path: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const isHex64 = (v: unknown): boolean => typeof v === 'string' && HEX64.test(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown, min: number): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

/**
 * The first claim of `value` that is missing or has the wrong type, or null when `value` holds
 * every receipt claim well-formed. Extra claims are allowed (a later version may add some).
 */
export function invalidClaim(value: Readonly<Record<string, unknown>>): string | null {
  const checks: readonly [keyof ReceiptClaims, (v: unknown) => boolean][] = [
    ['iss', isText],
    ['sub', isText],
    ['client_id', (v) => v === null || isText(v)],
    ['request_id', isText],
    ['model', isText],
    ['model_sha256', (v) => v === null || isHex64(v)],
    ['prompt_sha256', isHex64],
    ['output_sha256', isHex64],
    ['iat', (v) => isCount(v, 0)],
    ['chain', isText],
    ['seq', (v) => isCount(v, 1)],
  ];
  for (const [name, ok] of checks) if (!ok(value[name])) return name;
  return null;
}

const j = JSON.stringify;
const hexOrNull = (v: string | null, name: string): string => {
  if (v === null) return 'null';
  if (!HEX64.test(v)) throw new TypeError(`receipt ${name} must be 64 lower-case hex digits`);
  return `"${v}"`;
};

/**
 * The RFC 8785 encoding of exactly the receipt claims (members in their sorted order, strings as
 * `JSON.stringify` writes them, hex digests checked and written as they are): the same bytes as
 * `canonicalize`, written directly because it runs once per response.
 */
export function encodeClaims(s: ReceiptSubject, iss: string, iat: number): string {
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(s.seq)) {
    throw new TypeError('receipt iat and seq must be safe integers');
  }
  return (
    `{"chain":${j(s.chain)},"client_id":${j(s.client_id)},"iat":${String(iat)},` +
    `"iss":${j(iss)},"model":${j(s.model)},` +
    `"model_sha256":${hexOrNull(s.model_sha256, 'model_sha256')},` +
    `"output_sha256":${hexOrNull(s.output_sha256, 'output_sha256')},` +
    `"prompt_sha256":${hexOrNull(s.prompt_sha256, 'prompt_sha256')},` +
    `"request_id":${j(s.request_id)},"seq":${String(s.seq)},"sub":${j(s.sub)}}`
  );
}

/** The RFC 8785 encoding of a proof (base64url strings need no escaping). */
export function encodeProof(index: number, path: readonly string[]): string {
  return `{"index":${String(index)},"path":[${path.map((p) => `"${p}"`).join(',')}]}`;
}
