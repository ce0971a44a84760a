import type { FastifyInstance } from 'fastify'

// The user flows most tests start from, through the public HTTP API only.

export const PASSWORD = 'correct horse battery staple'

let counter = 0
export function uniqueEmail(prefix = 'user'): string {
  counter++
  return `${prefix}${counter}.${process.pid}@example.com`
}

export interface TokenBody {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  scope: string
}

export async function signUp(app: FastifyInstance, email = uniqueEmail(), password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/v1/users', payload: { email, password } })
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`)
  return { ...(res.json() as { id: string; email: string }), password }
}

export async function passwordGrant(app: FastifyInstance, fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', ...fields }).toString(),
  })
}

export async function refreshGrant(
  app: FastifyInstance,
  refreshToken: string,
  extra: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...extra,
    }).toString(),
  })
}

/** Signs up a new user and logs in: the starting point of most flows. */
export async function login(app: FastifyInstance, email = uniqueEmail()) {
  const user = await signUp(app, email)
  const res = await passwordGrant(app, { username: email, password: PASSWORD })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return { user, tokens: res.json() as TokenBody }
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` }
}
