import { createHash, randomInt } from 'node:crypto'

// Recovery codes (docs/contract.md §10): 10 per user, shown once at confirmation, stored
// only as hashes, each accepted once. 12 characters of a 31-letter alphabet without
// look-alikes (59 random bits), grouped in fours for reading aloud; input is compared
// without case, spaces or dashes.

export const RECOVERY_CODE_COUNT = 10
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
const GROUPS = 3
const GROUP_LENGTH = 4

export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    Array.from({ length: GROUPS }, () =>
      Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''),
    ).join('-'),
  )
}

/** SHA-256 suffices for 59 random bits; the user id salts it, so equal codes of two users differ. */
export function hashRecoveryCode(userId: string, code: string): string {
  const normalized = code.toLowerCase().replace(/[\s-]/g, '')
  return createHash('sha256').update(`${userId}\n${normalized}`).digest('base64url')
}
