import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { lockClient } from '../clients/repository.js'
import type { Clock } from '../clock.js'
import type { Database, SessionRow } from '../db/schema.js'
import { invalidClient, invalidGrant } from '../errors.js'
import { mayHandleTokenOf } from '../oauth/client-binding.js'
import type { RefreshTokenRepository } from '../sessions/refresh-token-repository.js'
import type { SessionRepository } from '../sessions/repository.js'
import { isSessionActive } from '../sessions/session-active.js'
import { isCredentialCurrent } from '../users/credential-fence.js'
import { isRetryWithinGrace } from './refresh-token-spendable.js'

// Opaque refresh tokens (docs/contract.md §2, §4): 256 random bits, stored only as SHA-256
// hashes, rotated on every use. To answer a retry within the grace window with the
// same successor without storing it in the clear, the successor is kept encrypted
// under a key derived from its parent token, which only the client holds.

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

function successorKey(parent: string): Buffer {
  return Buffer.from(hkdfSync('sha256', parent, '', 'badge refresh successor v1', 32))
}

function sealSuccessor(successor: string, parent: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', successorKey(parent), iv)
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

function openSuccessor(sealed: string, parent: string): string {
  const raw = Buffer.from(sealed, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', successorKey(parent), raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(raw.length - 16))
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
    'utf8',
  )
}

export interface RefreshTokenDeps {
  db: Kysely<Database>
  sessions: SessionRepository
  tokens: RefreshTokenRepository
  clock: Clock
  refreshTokenTtl: number
  refreshTokenIdleTtl: number
  reuseGraceSeconds: number
  /** Active sessions one user may hold; a new login ends the oldest beyond it. */
  maxSessionsPerUser: number
}

export interface NewSession {
  userId: string
  clientId: string
  scope: string
  userAgent: string | null
  delivery: 'body' | 'cookie'
  /** users.credential_version as read before the password was checked (users/credential-fence.ts). */
  credentialVersion: number
  /** True when clientId names a registered client that authenticated: it must still exist at commit. */
  registeredClient?: boolean
}

export interface Rotation {
  session: SessionRow
  refreshToken: string
  /** True when this answered a retry inside the grace window with the existing successor. */
  retried: boolean
}

export class RefreshTokenReused extends Error {
  override name = 'RefreshTokenReused'
  constructor(readonly sessionId: string) {
    super('refresh token reuse detected; session revoked')
  }
}

/** Rolls a rotation back: its session was revoked by a transaction that committed first. */
class SessionEnded extends Error {}

export function createRefreshTokens(deps: RefreshTokenDeps) {
  const { db, sessions, tokens, clock } = deps
  const idleMs = deps.refreshTokenIdleTtl * 1000
  const graceMs = deps.reuseGraceSeconds * 1000

  async function startSession(input: NewSession): Promise<{ session: SessionRow; refreshToken: string }> {
    const now = clock()
    const refreshToken = generateRefreshToken()
    const session: SessionRow = {
      id: randomUUID(),
      user_id: input.userId,
      client_id: input.clientId,
      scope: input.scope,
      user_agent: input.userAgent?.slice(0, 512) ?? null,
      delivery: input.delivery,
      created_at: now,
      last_used_at: now,
      expires_at: now + deps.refreshTokenTtl * 1000,
      revoked_at: null,
    }
    const refused = await db.transaction().execute(async (trx) => {
      // The credential fence: the password, the account state and the client checked
      // before this transaction must still be current when the session commits.
      if (!(await isCredentialCurrent(trx, input.userId, input.credentialVersion))) return 'user'
      if (input.registeredClient && !(await lockClient(trx, input.clientId))) return 'client'
      await sessions.insert(session, trx)
      await tokens.insert(session.id, hashRefreshToken(refreshToken), now, trx)
      await sessions.revokeOldestBeyond(input.userId, deps.maxSessionsPerUser, now, trx)
      return undefined
    })
    if (refused === 'user') throw invalidGrant('The email or password is incorrect.')
    if (refused === 'client') throw invalidClient('This client no longer exists.')
    return { session, refreshToken }
  }

  /**
   * Spends `presented` and returns its successor. Exactly one concurrent caller
   * rotates (the conditional UPDATE is the lock); the others, and retries within the
   * grace window, get that same successor. Later presentations are reuse: the whole
   * family is revoked (RFC 9700 §4.14.2). A token presented the other way than its
   * session was started (body vs. cookie) is refused before anything is spent.
   */
  async function rotateRefreshToken(presented: string, delivery?: 'body' | 'cookie'): Promise<Rotation> {
    const now = clock()
    const tokenHash = hashRefreshToken(presented)
    const successor = generateRefreshToken()
    const outcome = await db
      .transaction()
      .execute(async (trx) => {
        const found = await tokens.findWithSession(tokenHash, trx)
        if (!found) return { kind: 'invalid' as const }
        const { token_id, token_rotated_at, token_successor_enc, ...session } = found
        let row = { id: token_id, rotated_at: token_rotated_at, successor_enc: token_successor_enc }
        if (!isSessionActive(session, now, idleMs)) return { kind: 'invalid' as const }
        if (delivery !== undefined && session.delivery !== delivery) return { kind: 'mixed' as const }
        if (row.rotated_at === null) {
          if (await tokens.markRotated(row.id, now, sealSuccessor(successor, presented), trx)) {
            await tokens.insert(session.id, hashRefreshToken(successor), now, trx)
            // Conditional on the session not being revoked meanwhile (a password change or a
            // disable bumping the credential fence): on PostgreSQL this waits for such a
            // transaction and re-reads the row; 0 rows rolls the rotation back.
            if (!(await sessions.touch(session.id, now, trx))) throw new SessionEnded()
            return {
              kind: 'rotated' as const,
              session: { ...session, last_used_at: now },
              refreshToken: successor,
            }
          }
          const reread = await tokens.findByHash(tokenHash, trx)
          if (!reread) return { kind: 'invalid' as const }
          row = reread
        }
        if (isRetryWithinGrace(row, now, graceMs)) {
          return {
            kind: 'retried' as const,
            session,
            refreshToken: openSuccessor(row.successor_enc, presented),
          }
        }
        await sessions.revoke(session.id, now, trx)
        return { kind: 'reused' as const, sessionId: session.id }
      })
      .catch((error: unknown) => {
        if (error instanceof SessionEnded) return { kind: 'invalid' as const }
        throw error
      })
    // Thrown after commit, so the family's revocation is kept.
    if (outcome.kind === 'invalid') throw invalidGrant('The refresh token is invalid, expired or revoked.')
    if (outcome.kind === 'mixed') {
      throw invalidGrant(
        delivery === 'cookie'
          ? 'This session was started in body mode: send its refresh token as refresh_token.'
          : 'This session was started in browser mode: its refresh token is accepted only from the cookie.',
      )
    }
    if (outcome.kind === 'reused') throw new RefreshTokenReused(outcome.sessionId)
    return {
      session: outcome.session,
      refreshToken: outcome.refreshToken,
      retried: outcome.kind === 'retried',
    }
  }

  /** The session a refresh token belongs to, whether or not it is still usable. */
  async function findSessionByToken(presented: string): Promise<SessionRow | undefined> {
    return tokens.findSessionByHash(hashRefreshToken(presented))
  }

  /**
   * Ends the family `presented` belongs to (RFC 7009). Undefined if the token is unknown.
   * A session opened through a registered client is only ended by that client (§2.1).
   */
  async function revokeRefreshToken(
    presented: string,
    callerClientId?: string,
  ): Promise<SessionRow | undefined> {
    const session = await findSessionByToken(presented)
    if (session && mayHandleTokenOf(session.client_id, callerClientId))
      await sessions.revoke(session.id, clock())
    return session
  }

  return { startSession, rotateRefreshToken, revokeRefreshToken, findSessionByToken }
}

export type RefreshTokens = ReturnType<typeof createRefreshTokens>
