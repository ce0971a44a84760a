import type { FastifyInstance } from 'fastify'
import { bearer } from './flows.js'

// Signing-key tests: the admin (from admin.ts) to call /v1/admin/keys/*, and the kids tokens and the JWKS name.

export { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD, adminToken } from './admin.js'

/** The `kid` in a compact JWS header. */
export function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid
}

export async function jwksKids(app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  return (res.json().keys as Array<{ kid: string }>).map((k) => k.kid).sort()
}

export async function rotate(app: FastifyInstance, token: string, body?: object) {
  return app.inject({
    method: 'POST',
    url: '/v1/admin/keys/rotate',
    headers: bearer(token),
    ...(body ? { payload: body } : {}),
  })
}

/** GET /v1/me/claims: 200 when the token verifies, touching no database. */
export async function claimsStatus(app: FastifyInstance, token: string): Promise<number> {
  return (await app.inject({ url: '/v1/me/claims', headers: bearer(token) })).statusCode
}
