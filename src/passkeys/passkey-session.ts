import { createHash, randomBytes } from 'node:crypto'

// WebAuthn ceremony handles (docs/contract.md §10). A registration's challenge is bound
// to the signed-in user; a login's challenge sits behind the passkey_session, an opaque
// 256-bit handle the client sends back with the credential. Both are stored only as
// SHA-256 hashes of what the client holds, live 5 minutes and are spent by their first use.

export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60 * 1000

export function generateHandle(): string {
  return randomBytes(32).toString('base64url')
}

export function hashHandle(handle: string): string {
  return createHash('sha256').update(handle, 'utf8').digest('base64url')
}
