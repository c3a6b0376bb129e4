/**
 * @module auth/verify/claims — strict claim validation (RFC 7519 §4.1, RFC 9068 §4): exact
 * `iss`, our `aud`, `exp` required and in the future, `nbf`/`iat` not in the future beyond the
 * skew, and a lifetime no longer than the issuer's maximum.
 */
import { TokenError } from './errors.js';

/** The identity a verified token carries into the rest of the server. */
export interface VerifiedToken {
  issuer: string;
  subject: string;
  clientId: string | undefined;
  jti: string | undefined;
  scopes: ReadonlySet<string>;
  roles: readonly string[];
  issuedAt: number;
  expiresAt: number;
  /** RFC 9449 key thumbprint when the token is DPoP-bound. */
  jkt: string | undefined;
  /** Whether we issued it (vs. a trusted external provider). */
  own: boolean;
  /**
   * An external token with no scope claim at all: the policy grants it what its roles allow
   * (decided per request, so a policy change applies at once). `scopes` is then empty.
   */
  unscoped: boolean;
}

/** How one issuer's claims are read and bounded. */
export interface ClaimRules {
  issuer: string;
  audience: string;
  /** Own tokens must carry exactly one audience string; external ones may carry an array. */
  audienceArray: boolean;
  maxLifetime: number;
  skew: number;
  rolesClaim: string;
  scopeClaim: string;
  own: boolean;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function stringList(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value === '' ? [] : value.split(' ').filter(Boolean);
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
  throw new TokenError('bad_claims', `${claim} is neither a string nor an array of strings`);
}

/** Checks the time claims only (cheap; done before the signature). */
export function checkTimes(p: Record<string, unknown>, rules: ClaimRules, now: number): void {
  const { exp, iat, nbf } = p;
  if (!isInt(exp)) throw new TokenError('bad_claims', 'exp missing or not an integer');
  if (!isInt(iat)) throw new TokenError('bad_claims', 'iat missing or not an integer');
  if (nbf !== undefined && !isInt(nbf)) throw new TokenError('bad_claims', 'nbf not an integer');
  if (now >= exp) throw new TokenError('expired');
  if (iat > now + rules.skew) throw new TokenError('issued_in_future');
  if (nbf !== undefined && nbf > now + rules.skew) throw new TokenError('not_yet_valid');
  if (exp - iat > rules.maxLifetime) throw new TokenError('lifetime_too_long');
  if (exp - now > rules.maxLifetime + rules.skew) throw new TokenError('lifetime_too_long');
}

/**
 * Validates every other claim and returns the identity. The time claims are `checkTimes`'s job,
 * which the verifier runs before the signature; together they check everything.
 */
export function validateClaims(p: Record<string, unknown>, rules: ClaimRules): VerifiedToken {
  if (p.iss !== rules.issuer) throw new TokenError('unknown_issuer');
  const aud = p.aud;
  const audOk =
    aud === rules.audience ||
    (rules.audienceArray &&
      Array.isArray(aud) &&
      aud.length > 0 &&
      aud.every((a) => typeof a === 'string') &&
      aud.includes(rules.audience));
  if (!audOk) throw new TokenError('wrong_audience');
  const { sub, client_id: clientId, jti, cnf } = p;
  if (typeof sub !== 'string' || sub === '') throw new TokenError('bad_claims', 'sub missing');
  if (clientId !== undefined && typeof clientId !== 'string')
    throw new TokenError('bad_claims', 'client_id');
  if (jti !== undefined && (typeof jti !== 'string' || jti === ''))
    throw new TokenError('bad_claims', 'jti');
  if (rules.own && (clientId === undefined || jti === undefined)) {
    throw new TokenError('bad_claims', 'client_id and jti are required');
  }
  let jkt: string | undefined;
  if (cnf !== undefined) {
    const j =
      typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
    if (typeof j !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(j))
      throw new TokenError('bad_claims', 'cnf');
    jkt = j;
  }
  return {
    issuer: rules.issuer,
    subject: sub,
    clientId,
    jti,
    scopes: new Set(stringList(p[rules.scopeClaim], rules.scopeClaim)),
    roles: stringList(p[rules.rolesClaim], rules.rolesClaim),
    issuedAt: p.iat as number,
    expiresAt: p.exp as number,
    jkt,
    own: rules.own,
    unscoped: !rules.own && p[rules.scopeClaim] === undefined,
  };
}
