import type { FastifyRequest } from 'fastify'
import type { AuditContext } from './events.js'

/**
 * The audit context of an HTTP request: the calling token's subject (if any), the
 * client's address and its User-Agent, cut to the column's length.
 */
export function requestAuditContext(request: FastifyRequest): AuditContext {
  const userAgent = request.headers['user-agent']
  return {
    actor: request.auth?.claims.sub ?? null,
    ip: request.ip.slice(0, 64),
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
  }
}
