import type { FastifyReply } from 'fastify'

/** The documented bound (maxLength 1000): a description echoing input is cut, never refused. */
export function boundDescription(description: string): string {
  return description.length <= 1000 ? description : `${description.slice(0, 999)}…`
}

/**
 * Writes an error response in the contract's shape (docs/contract.md §5): `{error,
 * error_description}`, never cached (RFC 6749 §5.2). Shared by the error handler and
 * the bearer hooks, which answer on their own so the resource-server kit needs no
 * Badge error handler. Lives in verify/ because the kit ships without the server.
 */
export function sendError(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
  headers?: Record<string, string>,
  extra?: Record<string, unknown>,
) {
  if (headers) reply.headers(headers)
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: boundDescription(description), ...extra })
}
