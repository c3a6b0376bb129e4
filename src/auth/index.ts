/** @module auth — the identity area's public surface. */
export { createAuth, hasSigningKeys, openKeyRing, type Auth, type AuthDeps } from './service.js';
export { keyFilePath } from './key-file.js';
export {
  createClient,
  revokeClient,
  setClientLimits,
  validateLimits,
  type CreatedClient,
  type NewClient,
} from './clients.js';
export { KeyRing, type KeyInfo, type SigningAlg } from './keyring.js';
export { KeyDecryptError } from './key-document.js';
export { TokenIssuer, type IssuedAccessToken } from './issue.js';
export { OAuthError, type OAuthErrorCode } from './oauth/errors.js';
export { ASSERTION_ALGS, type ClientCredentials } from './oauth/client-auth.js';
export type { TokenResponse } from './oauth/token-service.js';
export { TokenError, type TokenRejection } from './verify/errors.js';
export type { VerifiedToken } from './verify/claims.js';
export { Verifier } from './verify/verifier.js';
export { RevocationList } from './revocations.js';
export { DPOP_ALGS, DpopError, DpopVerifier } from './dpop.js';
export type { ClientAuthRefusal } from './oauth/client-auth.js';
export type {
  Attempt,
  FailureThrottle,
  Throttled,
  ThrottleScope,
  ThrottleVerdict,
} from './oauth/throttle.js';
export { MemoryThrottle, sourceKey } from './oauth/throttle.js';
export type { SecretCheck } from './oauth/scrypt-worker.js';
export { SecretChecks } from './oauth/secret-checks.js';
export { TokenAdmin, type IntrospectionResponse } from './oauth/token-admin.js';
export { parsePublicJwk, jwksFileKeys } from './jwk.js';
export { clientRevocationKey } from './revocations.js';
export { ClientLimitsCache } from './client-limits.js';
