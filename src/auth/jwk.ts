/**
 * @module auth/jwk — client public keys (private_key_jwt), validated with zod wherever they come
 * from: an operator's JWKS file at registration, or a stored client record. Only public EC, OKP
 * and RSA signing keys with the members their type needs; private members are refused.
 */
import type { JWK } from 'jose';
import { z } from 'zod';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;
const b64u = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const common = {
  kid: z.string().min(1).max(256).optional(),
  alg: z.string().min(1).max(32).optional(),
  use: z.literal('sig').optional(),
};

/** One public JWK (unknown members such as `key_ops` or `x5t` are kept as they are). */
export const publicJwkSchema = z
  .discriminatedUnion('kty', [
    z.looseObject({
      kty: z.literal('EC'),
      crv: z.enum(['P-256', 'P-384', 'P-521']),
      x: b64u,
      y: b64u,
      ...common,
    }),
    z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: b64u, ...common }),
    z.looseObject({ kty: z.literal('RSA'), n: b64u, e: b64u, ...common }),
  ])
  .refine((k) => PRIVATE_MEMBERS.every((m) => !(m in k)), {
    message: 'client keys must be public keys',
  });

/** A JWK Set or a single JWK, as a JWKS file holds it. */
const jwksFileSchema = z.union([
  z.looseObject({ keys: z.array(z.unknown()) }).transform((s) => s.keys),
  z.looseObject({ kty: z.string() }).transform((k) => [k]),
]);

/** Why a key was refused: the first issue, with its path (never key material). */
function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` (${issue.path.join('.')})`;
  return `${issue?.message ?? 'invalid key'}${where}`;
}

/** Parses one public JWK; `{ error }` says why it is not one. */
export function parsePublicJwk(input: unknown): { jwk: JWK } | { error: string } {
  const r = publicJwkSchema.safeParse(input);
  return r.success ? { jwk: r.data as JWK } : { error: describe(r.error) };
}

/** The keys of a JWKS file's content (a set or one key), unvalidated; `{ error }` otherwise. */
export function jwksFileKeys(input: unknown): { keys: unknown[] } | { error: string } {
  const r = jwksFileSchema.safeParse(input);
  return r.success ? { keys: r.data } : { error: 'expected a JWK Set {"keys": […]} or one JWK' };
}
