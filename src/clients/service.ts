import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { ClientRow, Database } from '../db/schema.js'
import { notFound } from '../errors.js'
import { assertKnownScopes, splitScopes } from '../scopes.js'
import type { SessionRepository } from '../sessions/repository.js'
import type { ClientRepository } from './repository.js'
import { clientSecretMatches, generateClientId, generateClientSecret, hashClientSecret } from './secrets.js'

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/

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
  db: Kysely<Database>
  clients: ClientRepository
  sessions: SessionRepository
  clock: Clock
  /** SCOPES: the only scopes a client may be given. */
  knownScopes: readonly string[]
  audit: AuditLog
}

/** Service-to-service clients (RFC 6749 §2.1 confidential clients). Shared by the HTTP API and the CLI. */
export function createClientService({ db, clients, sessions, clock, knownScopes, audit }: ClientServiceDeps) {
  /** Registers a client; the secret is returned here once and never again. */
  async function createClient(
    input: { name: string; scopes: readonly string[] },
    who: AuditContext,
  ): Promise<{ client: ClientRow; clientSecret: string }> {
    const scopes = assertKnownScopes(input.scopes, knownScopes)
    const clientSecret = generateClientSecret()
    const client: ClientRow = {
      id: randomUUID(),
      client_id: generateClientId(),
      name: input.name.trim(),
      secret_hash: hashClientSecret(clientSecret),
      scopes: scopes.join(' '),
      created_at: clock(),
    }
    await db.transaction().execute(async (trx) => {
      await clients.insert(client, trx)
      await audit.record(trx, who, {
        type: 'client.created',
        clientId: client.client_id,
        details: { name: client.name, scopes },
      })
    })
    return { client, clientSecret }
  }

  /**
   * Deletes a client and ends the sessions users opened through it: otherwise its
   * client_id would fall back to naming a public app, and those refresh tokens would
   * no longer need the client's secret.
   */
  async function deleteClient(clientId: string, who: AuditContext): Promise<void> {
    // One transaction, so a login through the client (which locks its row before opening
    // a session, tokens/refresh-token.ts) is either refused or revoked with the rest.
    const deleted = await db.transaction().execute(async (trx) => {
      if (!(await clients.delete(clientId, trx))) return false
      const ended = await sessions.revokeAllForClient(clientId, clock(), trx)
      await audit.record(trx, who, { type: 'client.deleted', clientId, details: { sessions_revoked: ended } })
      return true
    })
    if (!deleted) throw notFound('No client has this id.')
  }

  /** The client these credentials name, or undefined; unknown ids cost the same comparison. */
  async function authenticate(clientId: string, secret: string): Promise<ClientRow | undefined> {
    // An id outside the client_id alphabet (docs/contract.md §4) names no client: answered like an
    // unknown one, without asking the database (PostgreSQL text cannot even hold a NUL).
    const client = CLIENT_ID.test(clientId) ? await clients.findByClientId(clientId) : undefined
    return clientSecretMatches(secret, client?.secret_hash) ? client : undefined
  }

  /** The scopes a client may be granted: its own, as long as SCOPES still lists them. */
  function grantableScopes(client: ClientRow): string[] {
    return splitScopes(client.scopes).filter((s) => knownScopes.includes(s))
  }

  return {
    createClient,
    deleteClient,
    authenticate,
    grantableScopes,
    listClients: clients.list,
    findByClientId: clients.findByClientId,
  }
}

export type ClientService = ReturnType<typeof createClientService>
