import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * RFC 9449 §8–9: server-provided nonces, which limit how far ahead a stolen key's holder
 * can pre-compute proofs. A nonce is an HMAC of the current time window under a secret of
 * this instance: nothing is stored, and it rotates every `windowSeconds`; the previous
 * window's nonce stays good so a client racing a rotation is not refused. With several
 * instances behind a balancer, give them the same secret (DPOP_NONCE_SECRET) or a client
 * may get one more use_dpop_nonce round trip.
 */
export function createNonceSource(windowSeconds: number, secret: Buffer = randomBytes(32)) {
  const nonceFor = (window: number) => createHmac('sha256', secret).update(String(window)).digest('base64url')
  return {
    /** The nonce clients should use now (sent in DPoP-Nonce). */
    current(nowSeconds: number): string {
      return nonceFor(Math.floor(nowSeconds / windowSeconds))
    },
    isValid(nonce: unknown, nowSeconds: number): boolean {
      if (typeof nonce !== 'string' || nonce.length !== 43) return false
      const window = Math.floor(nowSeconds / windowSeconds)
      const given = Buffer.from(nonce)
      return (
        timingSafeEqual(given, Buffer.from(nonceFor(window))) ||
        timingSafeEqual(given, Buffer.from(nonceFor(window - 1)))
      )
    },
  }
}

export type NonceSource = ReturnType<typeof createNonceSource>
