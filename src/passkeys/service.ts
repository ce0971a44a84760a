import { randomUUID } from 'node:crypto'
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { Database, PasskeyRow } from '../db/schema.js'
import { invalidGrant, invalidRequest, notFound } from '../errors.js'
import type { RevocationRecorder } from '../sessions/repository.js'
import type { LoginThrottle } from '../throttle/login-throttle.js'
import { bumpCredentialVersion } from '../users/credential-fence.js'
import type { UserService } from '../users/service.js'
import { passkeyAmr } from './passkey-amr.js'
import type { PasskeyRepository } from './passkey-repository.js'
import { generateHandle, hashHandle, WEBAUTHN_CHALLENGE_TTL_MS } from './passkey-session.js'
import type { WebauthnChallengeRepository } from './webauthn-challenge-repository.js'

// Passkeys (docs/contract.md §10): registration by a signed-in
// user, and the assertion that logs in without a password (or finishes a password login
// as its second factor). The WebAuthn checks themselves are @simplewebauthn/server's.

export interface RelyingParty {
  /** WEBAUTHN_RP_ID: the domain credentials are scoped to. */
  id: string
  /** WEBAUTHN_ORIGINS: the pages allowed to run a ceremony. */
  origins: readonly string[]
}

export interface PasskeyServiceDeps {
  db: Kysely<Database>
  passkeys: PasskeyRepository
  challenges: WebauthnChallengeRepository
  users: Pick<UserService, 'findById'>
  rp: RelyingParty
  /** Failed assertions count in the failed-sign-in limits, like passwords (docs/contract.md §7). */
  throttle: LoginThrottle
  clock: Clock
  revocations: RevocationRecorder
  audit: AuditLog
}

export interface PasskeyView {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

/** A verified assertion: whose passkey, and what the login proved (RFC 8176). */
export interface PasskeyAssertion {
  userId: string
  amr: string[]
}

const DEFAULT_NAME = 'Passkey'

/**
 * COSE algorithms accepted for new passkeys: EdDSA, ES256, RS256 (RFC 9053). Named here
 * rather than the library's default, which probes the runtime for ML-DSA and so makes
 * Node print an ExperimentalWarning on the first registration.
 */
const SUPPORTED_ALGORITHMS = [-8, -7, -257]

export const toPasskeyView = (row: PasskeyRow): PasskeyView => ({
  id: row.id,
  name: row.name,
  created_at: new Date(Number(row.created_at)).toISOString(),
  last_used_at: row.last_used_at === null ? null : new Date(Number(row.last_used_at)).toISOString(),
})

/** The challenge a response signed, read from its clientDataJSON; undefined when unreadable. */
function signedChallenge(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as unknown
    const challenge = (data as { challenge?: unknown } | null)?.challenge
    return typeof challenge === 'string' && challenge.length <= 256 ? challenge : undefined
  } catch {
    return undefined
  }
}

export function createPasskeyService(deps: PasskeyServiceDeps) {
  const { db, passkeys, challenges, users, rp, throttle, clock, revocations, audit } = deps
  const expectedOrigin = [...rp.origins]

  /** POST /v1/me/passkeys/options: creation options whose challenge only this user can spend. */
  async function registrationOptions(userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await users.findById(userId)
    if (!user) throw notFound('The user no longer exists.')
    const existing = await passkeys.listFor(userId)
    const options = await generateRegistrationOptions({
      rpName: 'Badge',
      rpID: rp.id,
      userName: user.email,
      // The user handle is the opaque user id, never the email (WebAuthn §14.6.1).
      userID: new TextEncoder().encode(userId),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({
        id: p.credential_id,
        transports: p.transports?.split(' ') ?? undefined,
      })),
      // Discoverable credentials: the passkey can log in without an email typed first.
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    })
    const now = clock()
    await challenges.insert({
      id: randomUUID(),
      handle_hash: hashHandle(options.challenge),
      purpose: 'registration',
      user_id: userId,
      challenge: options.challenge,
      expires_at: now + WEBAUTHN_CHALLENGE_TTL_MS,
      used_at: null,
    })
    return options
  }

  /**
   * POST /v1/me/passkeys: verifies the authenticator's attestation against a challenge this
   * user was given (spent here, right or wrong) and stores the credential. Adding a factor
   * bumps the credential fence, as TOTP does: every other session ends.
   */
  async function register(
    userId: string,
    response: RegistrationResponseJSON,
    name: string | undefined,
    sessionId: string | undefined,
    who: AuditContext,
  ): Promise<PasskeyView> {
    const challenge = signedChallenge(response.response.clientDataJSON)
    const row = challenge && (await challenges.spend(hashHandle(challenge), 'registration', clock()))
    if (!row || row.user_id !== userId)
      throw invalidGrant('The registration challenge is unknown, expired or already used.')
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo']
    try {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge: row.challenge,
        expectedOrigin,
        expectedRPID: rp.id,
        requireUserVerification: false,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      })
      info = result.registrationInfo
    } catch {
      info = undefined
    }
    if (!info) throw invalidGrant('The passkey response could not be verified.')
    if (await passkeys.findByCredentialId(info.credential.id))
      throw invalidGrant('This passkey is already registered.')
    const now = clock()
    const passkey: PasskeyRow = {
      id: randomUUID(),
      user_id: userId,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp ? 1 : 0,
      transports: info.credential.transports?.join(' ').slice(0, 256) || null,
      name: name?.trim() || DEFAULT_NAME,
      created_at: now,
      last_used_at: null,
    }
    await db.transaction().execute(async (trx) => {
      await passkeys.insert(passkey, trx)
      const ended = await bumpCredentialVersion(trx, revocations, userId, now, sessionId)
      await audit.record(trx, who, {
        type: 'passkey.added',
        userId,
        details: { passkey_id: passkey.id, sessions_revoked: ended },
      })
    })
    return toPasskeyView(passkey)
  }

  async function list(userId: string): Promise<PasskeyView[]> {
    return (await passkeys.listFor(userId)).map(toPasskeyView)
  }

  async function rename(userId: string, id: string, name: string): Promise<PasskeyView> {
    if (!(await passkeys.rename(userId, id, name.trim() || DEFAULT_NAME))) throw notFound('No such passkey.')
    return toPasskeyView((await passkeys.findOwned(userId, id))!)
  }

  /** DELETE /v1/me/passkeys/{id}: removing a factor bumps the fence like adding one. */
  async function remove(userId: string, id: string, sessionId: string | undefined, who: AuditContext) {
    const now = clock()
    const removed = await db.transaction().execute(async (trx) => {
      if (!(await passkeys.delete(userId, id, trx))) return false
      const ended = await bumpCredentialVersion(trx, revocations, userId, now, sessionId)
      await audit.record(trx, who, {
        type: 'passkey.removed',
        userId,
        details: { passkey_id: id, sessions_revoked: ended },
      })
      return true
    })
    if (!removed) throw notFound('No such passkey.')
  }

  /** POST /oauth/passkey/options: discoverable-credential request options and their handle. */
  async function loginOptions(): Promise<{
    options: PublicKeyCredentialRequestOptionsJSON
    passkey_session: string
  }> {
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      userVerification: 'preferred',
      timeout: WEBAUTHN_CHALLENGE_TTL_MS,
    })
    const handle = generateHandle()
    await challenges.insert({
      id: randomUUID(),
      handle_hash: hashHandle(handle),
      purpose: 'login',
      user_id: null,
      challenge: options.challenge,
      expires_at: clock() + WEBAUTHN_CHALLENGE_TTL_MS,
      used_at: null,
    })
    return { options, passkey_session: handle }
  }

  /** The grant's `credential` parameter: JSON of an AuthenticationResponseJSON. */
  function parseCredential(credential: string): AuthenticationResponseJSON {
    let value: unknown
    try {
      value = JSON.parse(credential)
    } catch {
      throw invalidRequest('credential must be the JSON of the authenticator response.')
    }
    const v = value as Partial<AuthenticationResponseJSON> | null
    if (
      typeof v?.id !== 'string' ||
      typeof v.rawId !== 'string' ||
      v.type !== 'public-key' ||
      typeof v.response?.clientDataJSON !== 'string' ||
      typeof v.response.authenticatorData !== 'string' ||
      typeof v.response.signature !== 'string'
    )
      throw invalidRequest('credential must be the JSON of the authenticator response.')
    return { ...v, clientExtensionResults: v.clientExtensionResults ?? {} } as AuthenticationResponseJSON
  }

  /** Verifies one assertion against a stored passkey; undefined when it does not hold. */
  async function verify(
    challenge: string,
    response: AuthenticationResponseJSON,
    passkey: PasskeyRow,
    requireUserVerification: boolean,
  ): Promise<PasskeyAssertion | undefined> {
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo']
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin,
        expectedRPID: rp.id,
        credential: {
          id: passkey.credential_id,
          publicKey: new Uint8Array(Buffer.from(passkey.public_key, 'base64url')),
          counter: Number(passkey.counter),
          transports: passkey.transports?.split(' ') as never,
        },
        requireUserVerification,
      })
      // The library throws on a counter that did not grow (a cloned authenticator).
      if (!result.verified) return undefined
      info = result.authenticationInfo
    } catch {
      return undefined
    }
    // Backup eligibility is fixed when a credential is made: a change means it is not the
    // credential that was registered.
    if (info.credentialDeviceType !== passkey.device_type) return undefined
    const recorded = await passkeys.recordUse(passkey.id, Number(passkey.counter), {
      counter: info.newCounter,
      backedUp: info.credentialBackedUp,
      at: clock(),
    })
    if (!recorded) return undefined
    return { userId: passkey.user_id, amr: passkeyAmr(info.credentialDeviceType, info.userVerified) }
  }

  /**
   * Checks `credential` against the challenge behind `passkeySession`, which this spends
   * whatever the outcome. Failures count in the failed-sign-in limits under the credential's
   * key and the caller's address. `requireUserVerification`: a passwordless login must
   * prove the user (PIN or biometric), not only the device. Undefined when anything fails.
   */
  async function assert(
    passkeySession: string,
    credential: string,
    address: string,
    requireUserVerification: boolean,
  ): Promise<PasskeyAssertion | undefined> {
    const response = parseCredential(credential)
    return throttle.guess(`passkey\n${response.id.slice(0, 1400)}`, address, async () => {
      const session = await challenges.spend(hashHandle(passkeySession), 'login', clock())
      const passkey = session && (await passkeys.findByCredentialId(response.id))
      return passkey ? await verify(session.challenge, response, passkey, requireUserVerification) : undefined
    })
  }

  return {
    registrationOptions,
    register,
    list,
    rename,
    remove,
    loginOptions,
    assert,
    purgeEndedChallenges: () => challenges.deleteEnded(clock()),
  }
}

export type PasskeyService = ReturnType<typeof createPasskeyService>
