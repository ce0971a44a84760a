import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

// Secrets at rest (KEY_ENCRYPTION_SECRET): AES-256-GCM under a key derived with
// HKDF-SHA256, bound as additional data to the row it belongs to (a key's kid, a user's
// id) so a sealed value cannot be swapped onto another row. GCM's tag turns a wrong
// secret into a clear failure instead of garbage. Signing keys and TOTP secrets
// (mfa/secret-sealing.ts) use the same mechanism under keys derived for each purpose.

const PREFIX = 'enc:v1:'
const SIGNING_KEYS = 'badge signing keys'

export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError'
}

function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, purpose, 'badge key encryption v1', 32))
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX)
}

/** Seals `plaintext` for `purpose` (the HKDF salt), bound to `aad`. */
export function sealSecret(plaintext: string, aad: string, secret: string, purpose: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, purpose), iv)
  cipher.setAAD(Buffer.from(aad))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

/** Opens a value sealed by sealSecret; undefined when `secret` does not open it. */
export function openSecret(stored: string, aad: string, secret: string, purpose: string): string | undefined {
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url')
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret, purpose), raw.subarray(0, 12))
    decipher.setAAD(Buffer.from(aad))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    return undefined
  }
}

export function sealPrivateKey(plaintext: string, kid: string, secret: string): string {
  return sealSecret(plaintext, kid, secret, SIGNING_KEYS)
}

export function openPrivateKey(stored: string, kid: string, secret: string | undefined): string {
  if (!isSealed(stored)) return stored
  if (!secret) {
    throw new KeyDecryptionError(
      'Signing keys in the database are encrypted: set KEY_ENCRYPTION_SECRET to the secret they were created with',
    )
  }
  const opened = openSecret(stored, kid, secret, SIGNING_KEYS)
  if (opened === undefined)
    throw new KeyDecryptionError(
      `KEY_ENCRYPTION_SECRET does not decrypt signing key ${kid}: it is not the secret the keys were encrypted with`,
    )
  return opened
}
