import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

// Client secrets are 256 random bits, shown once and stored only as a SHA-256 hash.
// A fast hash is enough here (unlike passwords): nobody can guess 2^256 secrets, so
// there is no dictionary for a slow hash to protect against.

export function generateClientId(): string {
  // 128 random bits in hex: inside docs/contract.md §4's client_id alphabet, needs no escaping in
  // HTTP Basic or URLs, and never collides with a first-party public app name such as "badge".
  return randomBytes(16).toString('hex')
}

/** Whether `clientId` has the shape generateClientId() gives: reserved for registered clients. */
export function isRegisteredClientId(clientId: string): boolean {
  return /^[0-9a-f]{32}$/.test(clientId)
}

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

// Unknown clients are compared against this, so the work done does not depend on whether the client exists.
const DUMMY_HASH = Buffer.from(hashClientSecret('badge unknown client'), 'hex')

/** Constant-time check of a presented secret against a stored hash (or none, for an unknown client). */
export function clientSecretMatches(presented: string, storedHash: string | undefined): boolean {
  const stored = storedHash === undefined ? undefined : Buffer.from(storedHash, 'hex')
  const usable = stored !== undefined && stored.length === 32
  const actual = Buffer.from(hashClientSecret(presented), 'hex')
  // Both sides are 32-byte digests, so timingSafeEqual never throws on a length mismatch.
  return timingSafeEqual(actual, usable ? stored : DUMMY_HASH) && usable
}
