import type { FastifyRequest } from 'fastify'

/**
 * How many Authorization headers the request carried. Node keeps only the first of
 * repeated headers, so an ambiguous request must be detected from the raw list; both the
 * bearer check (verify/authenticate.ts) and client authentication
 * (clients/authenticate.ts) refuse more than one.
 */
export function countAuthorizationHeaders(request: FastifyRequest): number {
  const raw = request.raw.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') seen++
  return seen
}
