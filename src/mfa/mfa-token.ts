import { createHash, randomBytes } from 'node:crypto'

// The mfa_token (docs/contract.md §10): what a correct password earns a user with a second
// factor. Opaque, 256 random bits, stored only as a SHA-256 hash; it lives 5 minutes,
// allows 5 attempts, is spent by the one that succeeds, and remembers the credential
// version the password was checked against, so the session it opens is fenced like a
// password login's (users/credential-fence.ts).

export const MFA_TOKEN_TTL_MS = 5 * 60 * 1000
export const MFA_TOKEN_MAX_ATTEMPTS = 5

export function generateMfaToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashMfaToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}
