import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import QRCode from 'qrcode'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { Database } from '../db/schema.js'
import { conflict, invalidGrant, notFound } from '../errors.js'
import type { PasskeyRepository } from '../passkeys/passkey-repository.js'
import type { PasskeyService } from '../passkeys/service.js'
import type { RevocationRecorder } from '../sessions/repository.js'
import type { LoginThrottle } from '../throttle/login-throttle.js'
import { bumpCredentialVersion } from '../users/credential-fence.js'
import { isUniqueViolation } from '../users/repository.js'
import type { UserService } from '../users/service.js'
import { generateMfaToken, hashMfaToken, MFA_TOKEN_MAX_ATTEMPTS, MFA_TOKEN_TTL_MS } from './mfa-token.js'
import type { MfaTokenRepository } from './mfa-token-repository.js'
import type { RecoveryCodeRepository } from './recovery-code-repository.js'
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js'
import { openTotpSecret, sealTotpSecret } from './secret-sealing.js'
import { generateTotpSecret, matchTotpStep, otpauthUri } from './totp.js'
import type { TotpRepository } from './totp-repository.js'

// Second factors (docs/contract.md §10): TOTP enrolment, recovery codes, the mfa_token of a
// login waiting for its second factor, and the check of a code. Shared by the HTTP API,
// the token endpoint's MFA grant and the CLI.

export type MfaMethod = 'totp' | 'recovery_code' | 'passkey'

/** What completes a login: a TOTP code, a recovery code or a passkey assertion. */
export type SecondFactor =
  | { otp: string }
  | { recoveryCode: string }
  | { passkeySession: string; credential: string }

export interface MfaServiceDeps {
  db: Kysely<Database>
  users: Pick<UserService, 'verifyCurrentPassword' | 'findById'>
  totp: TotpRepository
  recoveryCodes: RecoveryCodeRepository
  mfaTokens: MfaTokenRepository
  /** Passkeys count as a second factor (docs/contract.md §10). */
  passkeys: Pick<PasskeyRepository, 'countFor' | 'deleteAll'>
  assertPasskey: PasskeyService['assert']
  /** The password throttle's counters: failed codes count in the same limits (docs/contract.md §7). */
  throttle: LoginThrottle
  clock: Clock
  /** KEY_ENCRYPTION_SECRET: seals TOTP secrets at rest when set. */
  encryptionSecret: string | undefined
  /** ISSUER: its host names the account in authenticator apps. */
  issuer: string
  /** Where the fence records the sessions it ends (docs/contract.md §11). */
  revocations: RevocationRecorder
  /** Enabling and removing a second factor are audit events (docs/audit.md). */
  audit: AuditLog
}

export interface TotpEnrolment {
  secret: string
  otpauth_uri: string
  qr_svg: string
}

export interface MfaStatus {
  totp: boolean
  passkeys: number
  recovery_codes_left: number
}

export interface PendingLogin {
  userId: string
  credentialVersion: number
  clientId: string
  scope: string
  /** When the password was checked (epoch ms). */
  authTime: number
}

export function createMfaService(deps: MfaServiceDeps) {
  const { assertPasskey } = deps
  const { db, users, totp, recoveryCodes, mfaTokens, passkeys, throttle, clock, revocations, audit } = deps
  const label = new URL(deps.issuer).host

  /**
   * Second-factor guesses count in the password throttle (throttle/login-throttle.ts), under
   * a key of their own per user: a correct password, which forgets the account's password
   * failures, does not forget them, so knowing the password buys no extra code guesses.
   */
  function throttled(userId: string, address: string, check: () => Promise<boolean>) {
    return throttle.guess(`mfa\n${userId}`, address, check)
  }

  /** Accepts a TOTP code once: a code for a step already used (or an earlier one) is refused. */
  async function acceptTotp(userId: string, code: string, confirmedOnly: boolean): Promise<boolean> {
    const row = await totp.find(userId)
    if (!row || (confirmedOnly && row.confirmed_at === null)) return false
    const secret = openTotpSecret(row.secret_enc, userId, deps.encryptionSecret)
    const now = clock()
    const step = matchTotpStep(secret, code, now, row.last_step)
    return step !== undefined && (await totp.acceptStep(userId, step, now))
  }

  async function status(userId: string): Promise<MfaStatus> {
    const row = await totp.find(userId)
    const confirmed = row?.confirmed_at != null
    return {
      totp: confirmed,
      passkeys: await passkeys.countFor(userId),
      recovery_codes_left: confirmed ? await recoveryCodes.countUnused(userId) : 0,
    }
  }

  /** Which second factors can finish a login of `userId`; empty when the user has none. */
  async function methodsFor(userId: string): Promise<MfaMethod[]> {
    const row = await totp.find(userId)
    const methods: MfaMethod[] = []
    if (row?.confirmed_at != null) {
      methods.push('totp')
      if ((await recoveryCodes.countUnused(userId)) > 0) methods.push('recovery_code')
    }
    if ((await passkeys.countFor(userId)) > 0) methods.push('passkey')
    return methods
  }

  /** POST /v1/me/mfa/totp: a new pending authenticator, after the current password. */
  async function enrolTotp(userId: string, currentPassword: string, address: string): Promise<TotpEnrolment> {
    const user = await users.verifyCurrentPassword(userId, currentPassword, address)
    if ((await totp.find(userId))?.confirmed_at != null)
      throw conflict('TOTP is already enabled: disable it before enrolling another authenticator.')
    const secret = generateTotpSecret()
    try {
      await totp.replacePending(userId, sealTotpSecret(secret, userId, deps.encryptionSecret), clock())
    } catch (error) {
      // Two enrolments (or an enrolment and a confirmation) racing: the primary key decides.
      if (isUniqueViolation(error)) throw conflict('Another TOTP enrolment was just made; retry.')
      throw error
    }
    const uri = otpauthUri(secret, label, user.email)
    const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })
    return { secret, otpauth_uri: uri, qr_svg: svg }
  }

  /**
   * POST /v1/me/mfa/totp/confirm: the first code turns the pending authenticator on and
   * returns 10 new recovery codes, shown this once. The credential fence is bumped: a
   * password-only login in flight cannot commit a session any more, and every other
   * session of the user ends (`sessionId`, the caller's, stays).
   */
  async function confirmTotp(
    userId: string,
    code: string,
    address: string,
    sessionId: string | undefined,
    who: AuditContext,
  ): Promise<string[]> {
    const row = await totp.find(userId)
    if (!row) throw notFound('No TOTP enrolment is pending: start one with POST /v1/me/mfa/totp.')
    if (row.confirmed_at !== null) throw conflict('TOTP is already enabled.')
    const ok = await throttled(userId, address, () => acceptTotp(userId, code, false))
    if (!ok) throw invalidGrant('The code is incorrect.')
    const codes = generateRecoveryCodes()
    const now = clock()
    await db.transaction().execute(async (trx) => {
      await recoveryCodes.replaceAll(
        userId,
        codes.map((c) => hashRecoveryCode(userId, c)),
        now,
        trx,
      )
      const ended = await bumpCredentialVersion(trx, revocations, userId, now, sessionId)
      await audit.record(trx, who, {
        type: 'mfa.enabled',
        userId,
        details: { method: 'totp', sessions_revoked: ended },
      })
    })
    return codes
  }

  /** DELETE /v1/me/mfa/totp: after the current password; the fence is bumped as on confirm. */
  async function disableTotp(
    userId: string,
    currentPassword: string,
    address: string,
    sessionId: string | undefined,
    who: AuditContext,
  ): Promise<void> {
    await users.verifyCurrentPassword(userId, currentPassword, address)
    if (!(await removeSecondFactors(userId, who, sessionId, { passkeys: false })))
      throw notFound('TOTP is not enabled.')
  }

  /**
   * Removes the user's TOTP and recovery codes, and their passkeys too unless told not to,
   * and bumps the credential fence (every session but `keepSessionId` ends). False when
   * there was nothing to remove. DELETE /v1/me/mfa/totp (TOTP only) and the admin reset
   * (HTTP and CLI: everything).
   */
  async function removeSecondFactors(
    userId: string,
    who: AuditContext,
    keepSessionId?: string,
    what: { passkeys: boolean } = { passkeys: true },
  ): Promise<boolean> {
    const now = clock()
    return db.transaction().execute(async (trx) => {
      const removedTotp = await totp.delete(userId, trx)
      await recoveryCodes.deleteAll(userId, trx)
      const removedPasskeys = what.passkeys ? await passkeys.deleteAll(userId, trx) : 0
      if (!removedTotp && removedPasskeys === 0) return false
      const ended = await bumpCredentialVersion(trx, revocations, userId, now, keepSessionId)
      const methods = [...(removedTotp ? ['totp'] : []), ...(removedPasskeys > 0 ? ['passkey'] : [])]
      await audit.record(trx, who, {
        type: 'mfa.disabled',
        userId,
        details: {
          method: methods.join(' '),
          passkeys_removed: removedPasskeys,
          sessions_revoked: ended,
        },
      })
      return true
    })
  }

  /** A login whose password was right, waiting for its second factor: the mfa_token. */
  async function startPendingLogin(login: PendingLogin): Promise<string> {
    const token = generateMfaToken()
    await mfaTokens.insert({
      id: randomUUID(),
      token_hash: hashMfaToken(token),
      user_id: login.userId,
      credential_version: login.credentialVersion,
      client_id: login.clientId,
      scope: login.scope,
      auth_time: login.authTime,
      attempts: 0,
      expires_at: clock() + MFA_TOKEN_TTL_MS,
      used_at: null,
    })
    return token
  }

  /**
   * Checks `factor` for the login `mfaToken` continues, from `clientId` (the client the
   * password grant named). Every call spends one of the token's attempts; the one that
   * succeeds spends the token. Undefined (never an error that says which part failed)
   * when the token is unknown, expired, used, out of attempts or another client's, or
   * the code is wrong.
   */
  async function completePendingLogin(
    mfaToken: string,
    factor: SecondFactor,
    address: string,
    clientId: string,
  ): Promise<(PendingLogin & { amr: string[] }) | undefined> {
    const row = await mfaTokens.takeAttempt(hashMfaToken(mfaToken), clock(), MFA_TOKEN_MAX_ATTEMPTS)
    // Another client cannot finish this login: refused before any code is checked or spent.
    if (!row || row.client_id !== clientId) return undefined
    const userId = row.user_id
    let amr = ['pwd', 'otp', 'mfa']
    let ok: boolean
    if ('passkeySession' in factor) {
      // Throttled inside assertPasskey, like a passwordless passkey login.
      const assertion = await assertPasskey(factor.passkeySession, factor.credential, address, false)
      ok = assertion?.userId === userId
      // RFC 8176: a password plus a key is multi-factor whether or not the user was verified.
      if (assertion) amr = ['pwd', ...assertion.amr.filter((m) => m !== 'mfa'), 'mfa']
    } else {
      ok = await throttled(userId, address, () =>
        'otp' in factor
          ? acceptTotp(userId, factor.otp, true)
          : recoveryCodes.spend(userId, hashRecoveryCode(userId, factor.recoveryCode), clock()),
      )
    }
    if (!ok || !(await mfaTokens.spend(row.id, clock()))) return undefined
    return {
      userId,
      credentialVersion: Number(row.credential_version),
      clientId: row.client_id,
      scope: row.scope,
      authTime: Number(row.auth_time),
      // RFC 8176: a password plus a one-time code (TOTP or a recovery code) is multi-factor.
      amr,
    }
  }

  return {
    status,
    methodsFor,
    enrolTotp,
    confirmTotp,
    disableTotp,
    removeSecondFactors,
    startPendingLogin,
    completePendingLogin,
    purgeEndedTokens: () => mfaTokens.deleteEnded(clock()),
  }
}

export type MfaService = ReturnType<typeof createMfaService>
