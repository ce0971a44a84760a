import {
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto'
import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import { type AuditContext, SYSTEM_CONTEXT } from '../audit/events.js'
import { mayHandleTokenOf } from '../clients/client-binding.js'
import { lockClient } from '../clients/repository.js'
import type { Clock } from '../clock.js'
import type { Database, Db, SessionRow, UserRow } from '../db/schema.js'
import { invalidClient, invalidGrant } from '../errors.js'
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

// Sealing (docs/performance.md "Sealing the successor"): HKDF-SHA256 (RFC 5869) turns the
// parent token into 64 bytes: a one-time pad for the successor's 32 random bytes and a
// key for an HMAC-SHA256 tag over the result (encrypt-then-MAC). Each parent seals
// exactly one successor (it is spent once), so its pad is never reused. Same secrecy and
// integrity as the AES-256-GCM of v1, at a third of the CPU: creating a cipher costs
// ~24 µs on Node 24, most of what sealing cost. v1 values (no prefix) still open.
const SEALED_V2 = 'v2.'
const SUCCESSOR_BYTES = 32
const TAG_BYTES = 16

function successorKeys(parent: string): { pad: Buffer; macKey: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', parent, '', 'badge refresh successor v2', 64))
  return { pad: okm.subarray(0, SUCCESSOR_BYTES), macKey: okm.subarray(SUCCESSOR_BYTES) }
}

function xorInto(target: Buffer, pad: Buffer): Buffer {
  for (let i = 0; i < target.length; i++) target[i]! ^= pad[i]!
  return target
}

function sealSuccessor(successor: string, parent: string): string {
  const plain = Buffer.from(successor, 'base64url')
  if (plain.length !== SUCCESSOR_BYTES) throw new Error('a successor is 32 random bytes')
  const { pad, macKey } = successorKeys(parent)
  const sealed = xorInto(plain, pad)
  const tag = createHmac('sha256', macKey).update(sealed).digest().subarray(0, TAG_BYTES)
  return `${SEALED_V2}${Buffer.concat([sealed, tag]).toString('base64url')}`
}

/** v1: AES-256-GCM under an HKDF key, as sealed before v2 (kept for a rolling upgrade). */
function openSuccessorV1(sealed: string, parent: string): string | undefined {
  const key = Buffer.from(hkdfSync('sha256', parent, '', 'badge refresh successor v1', 32))
  const raw = Buffer.from(sealed, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  try {
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    return undefined
  }
}

/** The successor `parent` sealed, or undefined if `sealed` does not authenticate (an altered row). */
function openSuccessor(sealed: string, parent: string): string | undefined {
  if (!sealed.startsWith(SEALED_V2)) return openSuccessorV1(sealed, parent)
  const raw = Buffer.from(sealed.slice(SEALED_V2.length), 'base64url')
  const { pad, macKey } = successorKeys(parent)
  const body = raw.subarray(0, SUCCESSOR_BYTES)
  const tag = createHmac('sha256', macKey).update(body).digest().subarray(0, TAG_BYTES)
  const presented = raw.subarray(SUCCESSOR_BYTES)
  if (body.length !== SUCCESSOR_BYTES || presented.length !== TAG_BYTES || !timingSafeEqual(tag, presented))
    return undefined
  return xorInto(Buffer.from(body), pad).toString('base64url')
}

export interface RefreshTokenDeps {
  db: Kysely<Database>
  audit: AuditLog
  sessions: SessionRepository
  tokens: RefreshTokenRepository
  clock: Clock
  refreshTokenTtl: number
  refreshTokenIdleTtl: number
  reuseGraceSeconds: number
  /** Active sessions one user may hold; a new login ends the oldest beyond it. */
  maxSessionsPerUser: number
  /** PostgreSQL rotates in two round trips instead of a transaction; default SQLite. */
  dialect?: 'sqlite' | 'postgres'
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
  /** RFC 8176 authentication methods of this login; every access token of the session carries them. */
  amr: readonly string[]
  /** When the user authenticated (epoch ms); default now. */
  authTime?: number
  /** RFC 9449 §5: bind the session's refresh tokens to this DPoP key thumbprint. */
  dpopJkt?: string
}

export interface Rotation {
  session: SessionRow
  refreshToken: string
  /** True when this answered a retry inside the grace window with the existing successor. */
  retried: boolean
  /** The session's user as the rotation read it (same statement), or undefined if deleted. */
  user: Pick<UserRow, 'scopes' | 'disabled_at'> | undefined
}

/**
 * A check of the presented token's session that runs before anything is spent (oauth/grants.ts
 * uses it for the client binding). It throws to refuse; the rotation then writes nothing.
 * `clientRegistered`: the session's client_id names a registered (confidential) client.
 */
export type RotationCheck = (found: { session: SessionRow; clientRegistered: boolean }) => void

export class RefreshTokenReused extends Error {
  override name = 'RefreshTokenReused'
  constructor(readonly sessionId: string) {
    super('refresh token reuse detected; session revoked')
  }
}

/** Rolls a rotation back: its session was revoked by a transaction that committed first. */
class SessionEnded extends Error {}

export function createRefreshTokens(deps: RefreshTokenDeps) {
  const { db, audit, sessions, tokens, clock } = deps
  const idleMs = deps.refreshTokenIdleTtl * 1000
  const graceMs = deps.reuseGraceSeconds * 1000

  async function startSession(
    input: NewSession,
    who: AuditContext,
  ): Promise<{ session: SessionRow; refreshToken: string }> {
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
      amr: input.amr.join(' '),
      auth_time: input.authTime ?? now,
      dpop_jkt: input.dpopJkt ?? null,
    }
    const refused = await db.transaction().execute(async (trx) => {
      // The credential fence: the password, the account state and the client checked
      // before this transaction must still be current when the session commits.
      if (!(await isCredentialCurrent(trx, input.userId, input.credentialVersion))) return 'user'
      if (input.registeredClient && !(await lockClient(trx, input.clientId))) return 'client'
      await sessions.insert(session, trx)
      await tokens.insert(session.id, hashRefreshToken(refreshToken), now, trx)
      const evicted = await sessions.revokeOldestBeyond(input.userId, deps.maxSessionsPerUser, now, trx)
      if (evicted > 0)
        await audit.record(trx, SYSTEM_CONTEXT, {
          type: 'session.revoked',
          userId: input.userId,
          details: { reason: 'session_limit', count: evicted },
        })
      await audit.record(
        trx,
        { ...who, actor: input.userId },
        {
          type: 'login.succeeded',
          userId: input.userId,
          clientId: input.clientId,
          details: { session_id: session.id, scope: input.scope.split(' ').filter(Boolean) },
        },
      )
      return undefined
    })
    if (refused === 'user') throw invalidGrant('The email or password is incorrect.')
    if (refused === 'client') throw invalidClient('This client no longer exists.')
    return { session, refreshToken }
  }

  /**
   * Spends token `id` (if no one else did first), inserts its successor and touches the
   * session, atomically. True if this call spent it. The touch is conditional on the
   * session not being revoked meanwhile (a password change or a disable bumping the
   * credential fence, users/credential-fence.ts; a client deletion): then SessionEnded is
   * thrown and nothing is kept. SQLite: three statements inside the caller's transaction,
   * which the throw rolls back. PostgreSQL: one statement, one round trip, that spends
   * nothing unless its touch succeeded (docs/performance.md).
   */
  async function spendAndReplace(
    trx: Db,
    id: string,
    now: number,
    successorEnc: string,
    sessionId: string,
    successorHash: string,
  ): Promise<boolean> {
    if (deps.dialect === 'postgres') {
      const result = await tokens.spendAndReplaceOnPostgres(
        id,
        sessionId,
        now,
        successorEnc,
        successorHash,
        trx,
      )
      if (result === 'session-ended') throw new SessionEnded()
      return result === 'spent'
    }
    if (!(await tokens.markRotated(id, now, successorEnc, trx))) return false
    await tokens.insert(sessionId, successorHash, now, trx)
    // 0 rows: the session was revoked since the read; the throw rolls the transaction back.
    if (!(await sessions.touch(sessionId, now, trx))) throw new SessionEnded()
    return true
  }

  /**
   * Spends `presented` and returns its successor. Exactly one concurrent caller
   * rotates (the conditional UPDATE is the lock); the others, and retries within the
   * grace window, get that same successor. Later presentations are reuse: the whole
   * family is revoked (RFC 9700 §4.14.2). A token presented the other way than its
   * session was started (body vs. cookie) is refused before anything is spent.
   */
  async function rotateRefreshToken(
    presented: string,
    delivery?: 'body' | 'cookie',
    check?: RotationCheck,
    who: AuditContext = { actor: null, ip: null, userAgent: null },
  ): Promise<Rotation> {
    const now = clock()
    const tokenHash = hashRefreshToken(presented)
    const successor = generateRefreshToken()
    const decide = async (trx: Db) => {
      const found = await tokens.findForRotation(tokenHash, trx)
      if (!found) return { kind: 'invalid' as const }
      const {
        token_id,
        token_rotated_at,
        token_successor_enc,
        user_row_id,
        user_scopes,
        user_disabled_at,
        client_row_id,
        ...session
      } = found
      // Before anything is spent, whatever state the session is in (a refusal writes nothing).
      check?.({ session, clientRegistered: client_row_id !== null })
      const user =
        user_row_id === null
          ? undefined
          : { scopes: user_scopes ?? '', disabled_at: user_disabled_at ?? null }
      let row = { id: token_id, rotated_at: token_rotated_at, successor_enc: token_successor_enc }
      if (!isSessionActive(session, now, idleMs)) return { kind: 'invalid' as const }
      if (delivery !== undefined && session.delivery !== delivery) return { kind: 'mixed' as const }
      if (row.rotated_at === null) {
        const spent = await spendAndReplace(
          trx,
          row.id,
          now,
          sealSuccessor(successor, presented),
          session.id,
          hashRefreshToken(successor),
        )
        if (spent) {
          return {
            kind: 'rotated' as const,
            session: { ...session, last_used_at: now },
            refreshToken: successor,
            user,
          }
        }
        const reread = await tokens.findByHash(tokenHash, trx)
        if (!reread) return { kind: 'invalid' as const }
        row = reread
      }
      if (isRetryWithinGrace(row, now, graceMs)) {
        const refreshToken = openSuccessor(row.successor_enc, presented)
        // Only an altered row fails to open: refuse the retry rather than answer garbage.
        if (refreshToken === undefined) return { kind: 'invalid' as const }
        return { kind: 'retried' as const, session, refreshToken, user }
      }
      // The family's revocation and its audit event commit together (on PostgreSQL too,
      // where the rotation runs outside a transaction: this rare path opens one).
      const revokeFamily = async (t: Db) => {
        await sessions.revoke(session.id, now, t)
        await audit.record(t, who, {
          type: 'refresh.reuse_detected',
          userId: session.user_id,
          clientId: session.client_id,
          details: { session_id: session.id },
        })
      }
      if (trx.isTransaction) await revokeFamily(trx)
      else await db.transaction().execute(revokeFamily)
      return { kind: 'reused' as const, sessionId: session.id }
    }
    // SQLite: one transaction (in-process, so its statements cost no round trips).
    // PostgreSQL: no transaction: the read, then spendAndReplace's one statement, whose
    // conditional UPDATEs are the locks either way; two round trips on the common path.
    // (At READ COMMITTED the transaction's read never locked anything.)
    const outcome = await (deps.dialect === 'postgres' ? decide(db) : db.transaction().execute(decide)).catch(
      (error: unknown) => {
        // The session was revoked between the read and the spend (a credential change,
        // a client deletion): nothing was spent or written; the same answer as a revoked one.
        if (error instanceof SessionEnded) return { kind: 'invalid' as const }
        throw error
      },
    )
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
      user: outcome.user,
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
    callerClientId: string | undefined,
    who: AuditContext,
  ): Promise<SessionRow | undefined> {
    const session = await findSessionByToken(presented)
    if (session && mayHandleTokenOf(session.client_id, callerClientId)) await revokeSession(session, who)
    return session
  }

  /**
   * Ends session `session.id` (RFC 7009 revocation, by either of its tokens), recording
   * session.revoked in the same transaction if this call ended it.
   */
  async function revokeSession(
    session: Pick<SessionRow, 'id' | 'user_id' | 'client_id'>,
    who: AuditContext,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      if (!(await sessions.revoke(session.id, clock(), trx))) return
      await audit.record(trx, who, {
        type: 'session.revoked',
        userId: session.user_id,
        clientId: session.client_id,
        details: { reason: 'token_revoked', session_id: session.id },
      })
    })
  }

  return { startSession, rotateRefreshToken, revokeRefreshToken, revokeSession, findSessionByToken }
}

export type RefreshTokens = ReturnType<typeof createRefreshTokens>
