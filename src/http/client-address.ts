import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

/** IPv6 clients usually hold a whole /64: counting per address would let one client rotate freely. */
export const IPV6_PREFIX = 64

/**
 * The address limits count against: the peer, or with TRUST_PROXY the client named in
 * X-Forwarded-For (fastify resolves request.ip), IPv4-mapped IPv6 as IPv4, IPv6 by /64.
 * Shared by the per-address rate limits (plugins/rate-limit.ts) and the failed-login
 * throttle (throttle/login-throttle.ts), so both count the same client the same way.
 */
export function clientAddress(request: FastifyRequest): string {
  return normalizeIP(request.ip, IPV6_PREFIX)
}
