import type { FastifyRequest } from 'fastify'
import type { ClientRow } from '../db/schema.js'
import { invalidClient, invalidRequest } from '../errors.js'
import { countAuthorizationHeaders } from '../verify/authorization-header.js'
import type { ClientService } from './service.js'

// Client authentication on /oauth/token, /oauth/revoke and /oauth/introspect
// (RFC 6749 §2.3.1): client_secret_basic or client_secret_post, never both.

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post'

export interface ClientCredentials {
  clientId: string
  clientSecret: string
  method: ClientAuthMethod
}

export interface AuthenticatedClient {
  client: ClientRow
  method: ClientAuthMethod
}

interface CredentialFields {
  client_id?: string
  client_secret?: string
}

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i
const BASIC_SCHEME = /^Basic(?: |$)/i

// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding, so decode them
// the way application/x-www-form-urlencoded is decoded ("+" is a space).
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '))
  } catch {
    throw invalidClient('The Basic credentials are not form-urlencoded.')
  }
}

function readBasic(request: FastifyRequest): { clientId: string; clientSecret: string } | undefined {
  const header = request.headers.authorization
  // Other schemes (e.g. a Bearer token sent out of habit) are not client authentication.
  if (header === undefined || !BASIC_SCHEME.test(header)) return undefined
  if (countAuthorizationHeaders(request) > 1) throw invalidRequest('Send exactly one Authorization header.')
  const match = BASIC.exec(header)
  if (!match) throw invalidClient('The Authorization header must be "Basic <base64(id:secret)>".')
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  // Empty id and secret name no client: a public app's login, as Swagger UI's Authorize
  // dialog sends it by default (Basic base64(":")). Anything else in Basic must authenticate.
  if (decoded === ':') return undefined
  const colon = decoded.indexOf(':')
  if (colon < 0) throw invalidClient('The Basic credentials must be "client_id:client_secret".')
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  }
}

/**
 * The client credentials a request presents, or undefined when it presents none (a
 * public client, or only a client_id naming one). More than one method is
 * invalid_request (RFC 6749 §2.3).
 */
export function readClientCredentials(request: FastifyRequest): ClientCredentials | undefined {
  const body = (request.body ?? {}) as CredentialFields
  const basic = readBasic(request)
  if (basic) {
    if (body.client_secret !== undefined)
      throw invalidRequest('Use one client authentication method: HTTP Basic or client_secret, not both.')
    if (body.client_id !== undefined && body.client_id !== basic.clientId)
      throw invalidRequest('client_id in the body does not match the HTTP Basic credentials.')
    return { ...basic, method: 'client_secret_basic' }
  }
  if (body.client_secret === undefined) return undefined
  if (body.client_id === undefined) throw invalidRequest('client_secret needs a client_id.')
  return { clientId: body.client_id, clientSecret: body.client_secret, method: 'client_secret_post' }
}

/**
 * Authenticates the client a request presents credentials for. Undefined when none are
 * presented; 401 invalid_client when they are wrong. The same error for an unknown id
 * and a wrong secret, so ids cannot be probed through it.
 */
export async function authenticateClient(
  request: FastifyRequest,
  clients: Pick<ClientService, 'authenticate'>,
): Promise<AuthenticatedClient | undefined> {
  const credentials = readClientCredentials(request)
  if (!credentials) return undefined
  const client = await clients.authenticate(credentials.clientId, credentials.clientSecret)
  if (!client) throw invalidClient()
  return { client, method: credentials.method }
}
