// `badge-auth/verify`: the resource-server kit. Other Fastify services verify Badge's access
// tokens with the very code Badge uses on its own routes.

export { createAuthenticateHook, extractBearerToken, requireScopes, sendBearerError } from './authenticate.js'
export { BearerError, type BearerErrorCode } from './bearer-error.js'
export { accessTokenHash } from './dpop/access-token-hash.js'
export { jwkThumbprint } from './dpop/jwk-thumbprint.js'
export { createNonceSource, type NonceSource } from './dpop/nonce.js'
export {
  createDpopProofVerifier,
  type DpopProofVerifier,
  type DpopProofVerifierOptions,
} from './dpop/proof.js'
export { DpopProofRejected } from './dpop/proof-error.js'
export { DPOP_ALGS, type DpopAlg } from './dpop/proof-key.js'
export { type DpopResourceCheck, requestUri } from './dpop/resource-request.js'
export { verificationKeyFromJwk } from './jwk.js'
export { type BadgeVerifyOptions, badgeVerify, badgeVerify as default, type DpopOptions } from './plugin.js'
export { freshnessSeconds, JwksFetchError, RemoteJwks, type RemoteJwksOptions } from './remote-jwks.js'
export {
  type AuthenticationRequirement,
  authenticationShortfall,
  requireAuthentication,
} from './require-authentication.js'
export { RevocationFeed, type RevocationFeedOptions } from './revocation-feed.js'
export { type RevocationEntry, RevokedSet } from './revoked-set.js'
export { createVerificationKey, type VerificationAlg, type VerificationKey } from './signature.js'
export {
  type AccessTokenClaims,
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type KeySource,
  MAX_TOKEN_BYTES,
  type RevocationCheck,
  TokenRejected,
  UnknownKeyId,
  type VerifiedAccessToken,
  type VerifierOptions,
} from './verifier.js'
