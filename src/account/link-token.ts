import { createHash, randomBytes } from 'node:crypto'

// Link tokens (docs/contract.md §9): 256 bits from the CSPRNG, sent only in the mailed
// link and stored only as their SHA-256. A lookup by hash needs no constant-time
// comparison: an attacker who can time it learns about hashes, not tokens.

export function generateLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashLinkToken(token) }
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** The mailed URL: the configured template with {token} replaced (in the fragment by default). */
export function linkUrl(template: string, token: string): string {
  return template.replace('{token}', encodeURIComponent(token))
}
