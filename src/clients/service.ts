import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { ClientRow } from '../db/schema.js'
import { invalidRequest } from '../errors.js'
import type { ClientRepository } from './repository.js'

// Confidential clients for service-to-service calls (client_credentials). The secret is
// 256 random bits, shown once at creation and stored only as its SHA-256: a high-entropy
// secret needs no slow hash, and a leaked table gives nothing to replay.

export interface PublicClient {
  client_id: string
  name: string
  scopes: string[]
  created_at: string
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

export function toPublicClient(row: ClientRow): PublicClient {
  return {
    client_id: row.client_id,
    name: row.name,
    scopes: row.scopes.split(' ').filter(Boolean),
    created_at: new Date(row.created_at).toISOString(),
  }
}

export interface ClientServiceDeps {
  clients: ClientRepository
  clock: Clock
  /** SCOPES: a client may hold only scopes Badge knows. */
  knownScopes: readonly string[]
}

export function createClientService({ clients, clock, knownScopes }: ClientServiceDeps) {
  async function createClient(input: {
    name: string
    scopes: readonly string[]
  }): Promise<PublicClient & { client_secret: string }> {
    const name = input.name.trim()
    if (name.length === 0 || name.length > 200) throw invalidRequest('name must be 1 to 200 characters.')
    const unknown = input.scopes.filter((s) => !knownScopes.includes(s))
    if (unknown.length) throw invalidRequest(`Unknown scopes (not in SCOPES): ${unknown.join(' ')}.`)
    const clientSecret = randomBytes(32).toString('base64url')
    const row: ClientRow = {
      id: randomUUID(),
      client_id: randomBytes(16).toString('hex'),
      name,
      secret_hash: hashClientSecret(clientSecret),
      scopes: [...new Set(input.scopes)].join(' '),
      created_at: clock(),
    }
    await clients.insert(row)
    const { client_id, ...rest } = toPublicClient(row)
    return { client_id, client_secret: clientSecret, ...rest }
  }

  async function listClients(): Promise<PublicClient[]> {
    return (await clients.list()).map(toPublicClient)
  }

  return { createClient, listClients, deleteClient: clients.deleteByClientId }
}

export type ClientService = ReturnType<typeof createClientService>
