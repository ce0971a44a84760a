import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

// TOTP (RFC 6238) over HOTP (RFC 4226), with node:crypto only: 6 digits, 30-second steps,
// HMAC-SHA-1, the parameters every authenticator app understands (docs/contract.md §10).
// The algorithm and digit count are parameters so the RFC's own test vectors (SHA-1,
// SHA-256 and SHA-512, 8 digits) can check this code exactly.

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512'

export interface TotpParameters {
  digits: number
  stepSeconds: number
  algorithm: TotpAlgorithm
}

export const TOTP_PARAMETERS: TotpParameters = { digits: 6, stepSeconds: 30, algorithm: 'sha1' }

/** Clock drift accepted either side of the current step (RFC 6238 §5.2 recommends one). */
export const TOTP_DRIFT_STEPS = 1

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 §6 base32 without padding: how otpauth:// URIs carry the secret. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase()
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = BASE32.indexOf(char)
    if (index === -1) throw new TypeError('not base32')
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** RFC 4226 §5.3: HMAC of the 8-byte counter, dynamic truncation, modulo 10^digits. */
export function hotp(key: Buffer, counter: number, digits: number, algorithm: TotpAlgorithm): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(algorithm, key).update(message).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = mac.readUInt32BE(offset) & 0x7fffffff
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** RFC 6238 §4.2: the time step T of a Unix time in seconds. */
export function timeStep(unixSeconds: number, stepSeconds = TOTP_PARAMETERS.stepSeconds): number {
  return Math.floor(unixSeconds / stepSeconds)
}

/** The TOTP code at a Unix time (seconds). */
export function totpAt(key: Buffer, unixSeconds: number, parameters = TOTP_PARAMETERS): string {
  return hotp(key, timeStep(unixSeconds, parameters.stepSeconds), parameters.digits, parameters.algorithm)
}

/** 160 random bits, the HMAC-SHA-1 key length RFC 4226 §4 recommends, in base32. */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20))
}

/**
 * The time step `code` is valid for at `nowMs`, within ±TOTP_DRIFT_STEPS, and later than
 * `lastStep` (the step of the last code accepted): a code, or an earlier one, is never
 * accepted twice (RFC 6238 §5.2). Undefined if none. Every candidate is compared in
 * constant time.
 */
export function matchTotpStep(
  secret: string,
  code: string,
  nowMs: number,
  lastStep: number | null,
): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined
  const key = base32Decode(secret)
  const current = timeStep(Math.floor(nowMs / 1000))
  let matched: number | undefined
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    const expected = hotp(key, step, TOTP_PARAMETERS.digits, TOTP_PARAMETERS.algorithm)
    const equal = timingSafeEqual(Buffer.from(expected), Buffer.from(code))
    if (equal && matched === undefined && (lastStep === null || step > lastStep)) matched = step
  }
  return matched
}

/** The otpauth:// URI authenticator apps scan (Google Authenticator's Key Uri Format). */
export function otpauthUri(secret: string, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`
  const params = new URLSearchParams({
    secret,
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_PARAMETERS.digits),
    period: String(TOTP_PARAMETERS.stepSeconds),
  })
  return `otpauth://totp/${label}?${params.toString()}`
}
