import { rejectProof } from './proof-error.js'

/** A proof may be dated this far in the future (clocks of clients drift). */
export const PROOF_CLOCK_SKEW_SECONDS = 5

/**
 * RFC 9449 §4.3 (check 11) and §11.1: a proof is accepted only within `maxAgeSeconds` of
 * its `iat`, which bounds how long its `jti` must be remembered.
 */
export function checkProofTime(iat: unknown, nowSeconds: number, maxAgeSeconds: number): number {
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) rejectProof('The DPoP proof has no valid iat.')
  if (iat > nowSeconds + PROOF_CLOCK_SKEW_SECONDS) rejectProof('The DPoP proof is dated in the future.')
  if (iat < nowSeconds - maxAgeSeconds) rejectProof('The DPoP proof is too old.')
  return iat
}
