import type { FastifyInstance } from 'fastify'
import { bearer, passwordGrant } from './flows.js'

// Admin and client flows, through the public HTTP API only.

export const ADMIN_EMAIL = 'root@example.com'
export const ADMIN_PASSWORD = 'bootstrap admin password'
export const ADMIN_ENV = { BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD }

/** An access token of the bootstrap admin (the app must be built with ADMIN_ENV). */
export async function adminToken(app: FastifyInstance): Promise<string> {
  const res = await passwordGrant(app, { username: ADMIN_EMAIL, password: ADMIN_PASSWORD })
  if (res.statusCode !== 200) throw new Error(`admin login failed: ${res.statusCode} ${res.body}`)
  return res.json().access_token
}

export interface CreatedClient {
  client_id: string
  client_secret: string
  name: string
  scopes: string[]
  created_at: string
}

export async function createClient(
  app: FastifyInstance,
  token: string,
  scopes: string[] = ['profile:read'],
  name = 'billing service',
): Promise<CreatedClient> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/admin/clients',
    headers: bearer(token),
    payload: { name, scopes },
  })
  if (res.statusCode !== 201) throw new Error(`client creation failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** RFC 6749 §2.3.1: form-urlencode id and secret, then Basic-encode them. */
export function basic(clientId: string, clientSecret: string) {
  const encode = (s: string) => encodeURIComponent(s).replaceAll('%20', '+')
  const credentials = Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')
  return { authorization: `Basic ${credentials}` }
}

/** A form-encoded POST, as OAuth clients send them. */
export function form(
  app: FastifyInstance,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  })
}
