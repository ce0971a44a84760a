import { createHash, timingSafeEqual } from 'node:crypto'
import { rejectProof } from './proof-error.js'

/** RFC 9449 §4.2: `ath` is base64url(SHA-256(ASCII(access token))). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'latin1').digest('base64url')
}

/** RFC 9449 §4.3 (check 12): a proof sent with an access token carries that token's hash. */
export function checkAccessTokenHash(ath: unknown, accessToken: string): void {
  if (typeof ath !== 'string') rejectProof('The DPoP proof has no ath for the access token.')
  const expected = Buffer.from(accessTokenHash(accessToken))
  const given = Buffer.from(ath)
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    rejectProof('The DPoP proof ath does not match the access token.')
}
