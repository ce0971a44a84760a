import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { ClientRow } from '../db/schema.js'
import { invalidScope, notFound } from '../errors.js'
import { splitScopes } from '../users/service.js'
import type { ClientRepository } from './repository.js'
import { generateClientId, generateClientSecret, hashClientSecret } from './secrets.js'

// Minimal clients service for the CLI, with the same API as the admin HTTP API's
// service on the issue3-api branch (which also revokes a deleted client's sessions and
// authenticates clients): when both land, keep that version; the CLI needs only this.

/** A registered (confidential) client as admins see it: never its secret or hash. */
export interface PublicClient {
  client_id: string
  name: string
  scopes: string[]
  created_at: string
}

export function toPublicClient(row: ClientRow): PublicClient {
  return {
    client_id: row.client_id,
    name: row.name,
    scopes: splitScopes(row.scopes),
    created_at: new Date(row.created_at).toISOString(),
  }
}

export interface ClientServiceDeps {
  clients: ClientRepository
  clock: Clock
  /** SCOPES: the only scopes a client may be given. */
  knownScopes: readonly string[]
}

export function createClientService({ clients, clock, knownScopes }: ClientServiceDeps) {
  /** Registers a client; the secret is returned here once and never again. */
  async function createClient(input: {
    name: string
    scopes: readonly string[]
  }): Promise<{ client: ClientRow; clientSecret: string }> {
    const unknown = input.scopes.filter((s) => !knownScopes.includes(s))
    if (unknown.length)
      throw invalidScope(`Unknown scope: ${unknown.join(' ')}. Known scopes are listed in SCOPES.`)
    const clientSecret = generateClientSecret()
    const client: ClientRow = {
      id: randomUUID(),
      client_id: generateClientId(),
      name: input.name.trim(),
      secret_hash: hashClientSecret(clientSecret),
      scopes: [...new Set(input.scopes)].join(' '),
      created_at: clock(),
    }
    await clients.insert(client)
    return { client, clientSecret }
  }

  async function deleteClient(clientId: string): Promise<void> {
    if (!(await clients.delete(clientId))) throw notFound('No client has this id.')
  }

  return { createClient, deleteClient, listClients: clients.list, findByClientId: clients.findByClientId }
}

export type ClientService = ReturnType<typeof createClientService>
