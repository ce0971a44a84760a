import { isSealed, KeyDecryptionError, openSecret, sealSecret } from '../keys/encryption.js'

// TOTP secrets at rest: sealed like signing keys (keys/encryption.ts) when
// KEY_ENCRYPTION_SECRET is set, under a key derived for this purpose and bound to the
// user's id, so a sealed secret copied onto another user's row does not open.

const PURPOSE = 'badge totp secrets'

export function sealTotpSecret(secret: string, userId: string, encryptionSecret: string | undefined): string {
  return encryptionSecret === undefined ? secret : sealSecret(secret, userId, encryptionSecret, PURPOSE)
}

export function openTotpSecret(stored: string, userId: string, encryptionSecret: string | undefined): string {
  if (!isSealed(stored)) return stored
  const opened =
    encryptionSecret === undefined ? undefined : openSecret(stored, userId, encryptionSecret, PURPOSE)
  // The same failure as a signing key that does not open: an operator error, never a user's.
  if (opened === undefined)
    throw new KeyDecryptionError('KEY_ENCRYPTION_SECRET does not decrypt a stored TOTP secret')
  return opened
}
