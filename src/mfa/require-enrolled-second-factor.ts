import { BearerError } from '../verify/bearer-error.js'
import type { VerifiedAccessToken } from '../verify/verifier.js'
import type { MfaService } from './service.js'

// docs/contract.md §9–10: once a user has a second factor, the changes that would hand a
// password thief the account for good (deleting it, moving its email and with it every
// future reset link) need a login that used that factor. The token says so (`amr` holds
// "mfa", RFC 8176). A token from a password-only login (one issued before the factor was
// enrolled) is answered with RFC 9470's challenge: the client logs in again, now with the
// second factor, and retries. A user without a second factor needs only the password.

/** Throws the RFC 9470 challenge when the caller has a second factor its login did not use. */
export async function requireEnrolledSecondFactor(
  mfa: Pick<MfaService, 'methodsFor'>,
  auth: VerifiedAccessToken,
): Promise<void> {
  if (auth.claims.amr?.includes('mfa')) return
  if ((await mfa.methodsFor(auth.claims.sub)).length === 0) return
  throw BearerError.insufficientUserAuthentication(
    'This account has a second factor: log in again with it, then retry.',
  ).forToken(auth.claims)
}
