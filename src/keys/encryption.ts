import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

// Private keys at rest (KEY_ENCRYPTION_SECRET): AES-256-GCM under a key derived with
// HKDF-SHA256, bound to the key's kid as additional data so a sealed key cannot be
// swapped onto another row. GCM's tag turns a wrong secret into a clear failure
// instead of garbage key material.

const PREFIX = 'enc:v1:'

export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError'
}

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'badge signing keys', 'badge key encryption v1', 32))
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX)
}

export function sealPrivateKey(plaintext: string, kid: string, secret: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret), iv)
  cipher.setAAD(Buffer.from(kid))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

export function openPrivateKey(stored: string, kid: string, secret: string | undefined): string {
  if (!isSealed(stored)) return stored
  if (!secret) {
    throw new KeyDecryptionError(
      'Signing keys in the database are encrypted: set KEY_ENCRYPTION_SECRET to the secret they were created with',
    )
  }
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url')
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret), raw.subarray(0, 12))
    decipher.setAAD(Buffer.from(kid))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    throw new KeyDecryptionError(
      `KEY_ENCRYPTION_SECRET does not decrypt signing key ${kid}: it is not the secret the keys were encrypted with`,
    )
  }
}
