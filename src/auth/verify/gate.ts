/**
 * @module auth/verify/gate — the structural gate every token passes before any key is looked up
 * or any signature checked (RFC 8725 §3): size cap, exactly three canonical base64url segments,
 * a JSON-object header with only the members we understand, a JSON-object payload.
 */
import { TokenError } from './errors.js';

/** The protected header members we accept. Key-carrying and critical members are refused. */
export interface JwsHeader {
  alg: string;
  kid: string;
  typ?: string;
}

/** A token that passed the gate: parsed but not yet trusted. */
export interface GatedToken {
  header: JwsHeader;
  payload: Record<string, unknown>;
  /** `base64url(header).base64url(payload)`, the bytes the signature covers. */
  signingInput: Buffer;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Members that would let the token choose its own key or change how it is processed. */
const FORBIDDEN = new Set([
  'jwk',
  'jku',
  'x5u',
  'x5c',
  'crit',
  'b64',
  'zip',
  'enc',
  'epk',
  'p2s',
  'p2c',
]);
const KID = /^[\x21-\x7e]{1,128}$/;

function decodeSegment(segment: string): Buffer {
  if (!B64URL.test(segment) || segment.length % 4 === 1) {
    throw new TokenError('malformed', 'segment is not base64url');
  }
  const bytes = Buffer.from(segment, 'base64url');
  // Non-canonical encodings (stray trailing bits) are a classic signature-malleability trick.
  if (bytes.toString('base64url') !== segment)
    throw new TokenError('malformed', 'non-canonical base64url');
  return bytes;
}

function parseObject(bytes: Buffer, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TokenError(what === 'header' ? 'bad_header' : 'bad_claims', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenError(
      what === 'header' ? 'bad_header' : 'bad_claims',
      `${what} is not an object`,
    );
  }
  return value as Record<string, unknown>;
}

/** Parses `token` strictly; throws TokenError with the exact reason. */
export function gate(token: string, maxBytes: number): GatedToken {
  if (token.length > maxBytes) throw new TokenError('too_large');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (
    first <= 0 ||
    second <= first + 1 ||
    second === token.length - 1 ||
    token.includes('.', second + 1)
  ) {
    throw new TokenError('malformed', 'not three segments');
  }
  const rawHeader = parseObject(decodeSegment(token.slice(0, first)), 'header');
  const payload = parseObject(decodeSegment(token.slice(first + 1, second)), 'payload');
  const signature = decodeSegment(token.slice(second + 1));

  for (const name of Object.keys(rawHeader)) {
    if (FORBIDDEN.has(name)) throw new TokenError('forbidden_header', name);
  }
  const { alg, kid, typ } = rawHeader;
  if (typeof alg !== 'string') throw new TokenError('bad_header', 'alg missing');
  if (typeof kid !== 'string' || !KID.test(kid)) throw new TokenError('bad_kid');
  if (typ !== undefined && typeof typ !== 'string') throw new TokenError('bad_typ');
  const header: JwsHeader = typ === undefined ? { alg, kid } : { alg, kid, typ };
  return {
    header,
    payload,
    signingInput: Buffer.from(token.slice(0, second), 'latin1'),
    signature,
  };
}
