import type { FastifyBaseLogger } from 'fastify'
import type { JWK } from 'jose'
import type { AuditLog } from '../audit/audit-log.js'
import { type AuditContext, SYSTEM_CONTEXT } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { SigningAlg } from '../config.js'
import type { SigningKeyRow } from '../db/schema.js'
import { conflict, UnavailableError } from '../errors.js'
import { isSealed, KeyDecryptionError, openPrivateKey, sealPrivateKey } from './encryption.js'
import { generateSigningKey } from './generate.js'
import { type KeyInfo, toKeyInfo } from './info.js'
import { type LoadedKey, loadKey } from './loaded-key.js'
import type { KeyRepository } from './repository.js'
import { bySignerOrder } from './signer-order.js'

/** Keys that may be published at once (next, active, retiring); a rotation beyond it is 409. */
export const MAX_USABLE_KEYS = 20

export interface KeyStoreOptions {
  repo: KeyRepository
  /** Rotations are key.rotated events (audit/audit-log.ts). */
  audit: AuditLog
  clock: Clock
  log: FastifyBaseLogger
  signingAlg: SigningAlg
  accessTokenTtl: number
  keyEncryptionSecret: string | undefined
  /** Minimum milliseconds between reloads triggered by an unknown `kid` (docs/contract.md §2). */
  unknownKidReloadInterval?: number
}

/**
 * How long past `retiring_at + ACCESS_TOKEN_TTL` a retiring key is kept. Another instance
 * may go on signing with a key for up to one periodic reload (60 s, src/app.ts) after it
 * started retiring, and verifiers allow 5 s of clock leeway: two reload periods cover both
 * plus a failed reload or some clock skew between instances.
 */
export const RETIRE_GRACE_MS = 120_000

/** Until when a retiring key can still have unexpired tokens (docs/contract.md §2). */
export function retiringUntil(retiringAt: number, accessTokenTtl: number): number {
  return retiringAt + accessTokenTtl * 1000 + RETIRE_GRACE_MS
}

/**
 * The in-memory key set: the only state the bearer check consults. Keyed by a Map so
 * that a `kid` such as "__proto__" or "constructor" finds nothing instead of a prototype member.
 */
export class KeyStore {
  #keys = new Map<string, LoadedKey>()
  #signer: LoadedKey | undefined
  #jwks: { keys: JWK[] } = { keys: [] }
  #lastUnknownKidReload = 0
  #unknownKidReload: Promise<boolean> | undefined
  #listeners = new Set<() => void>()

  constructor(private readonly options: KeyStoreOptions) {}

  get(kid: string): LoadedKey | undefined {
    return this.#keys.get(kid)
  }

  get size(): number {
    return this.#keys.size
  }

  /** The key new tokens are signed with. */
  signingKey(): LoadedKey {
    if (!this.#signer) throw new UnavailableError('No signing key is loaded yet.')
    return this.#signer
  }

  /** RFC 7517 key set: public halves of every key that can still have unexpired tokens. */
  jwks(): { keys: JWK[] } {
    return this.#jwks
  }

  /** Called after every reload, e.g. so the verified-token cache forgets removed keys. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async reload(): Promise<void> {
    const { repo, clock, accessTokenTtl, keyEncryptionSecret } = this.options
    const now = clock()
    const rows = await repo.listUsable()
    const next = new Map<string, LoadedKey>()
    for (const row of rows) {
      // A retiring key stays only while a token it signed can still be unexpired.
      if (row.status === 'retiring' && retiringUntil(row.retiring_at ?? 0, accessTokenTtl) < now) continue
      next.set(row.kid, loadKey(row, openPrivateKey(row.private_jwk, row.kid, keyEncryptionSecret)))
    }
    const active = [...next.values()].filter((k) => k.status === 'active').sort(bySignerOrder)
    this.#keys = next
    this.#signer = active[0]
    this.#jwks = {
      keys: [...next.values()].flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])),
    }
    for (const listener of this.#listeners) listener()
  }

  /**
   * Reloads for a token whose `kid` is unknown, at most once per interval. Callers arriving
   * while that reload runs wait for it instead of failing, so a burst of tokens signed by a
   * key rotated on another instance is accepted as soon as the key set has it.
   */
  reloadForUnknownKid(): Promise<boolean> {
    if (this.#unknownKidReload) return this.#unknownKidReload
    const now = this.options.clock()
    const interval = this.options.unknownKidReloadInterval ?? 5_000
    if (now - this.#lastUnknownKidReload < interval) return Promise.resolve(false)
    this.#lastUnknownKidReload = now
    this.#unknownKidReload = this.reload()
      .then(
        () => true,
        (error) => {
          this.options.log.warn({ err: error }, 'could not reload signing keys')
          return false
        },
      )
      .finally(() => {
        this.#unknownKidReload = undefined
      })
    return this.#unknownKidReload
  }

  /**
   * At start: load the key set (a wrong or missing KEY_ENCRYPTION_SECRET fails here, before
   * anything is written), seal keys stored in plaintext if a secret is now configured, and
   * create the first key on first start.
   */
  async ensureSigningKey(): Promise<void> {
    await this.reload()
    await this.sealPlaintextKeys()
    if (!this.#signer) await this.rotate()
  }

  /** Encrypts private keys stored before KEY_ENCRYPTION_SECRET was set. Returns how many. */
  async sealPlaintextKeys(): Promise<number> {
    const { repo, keyEncryptionSecret: secret, log } = this.options
    if (!secret) return 0
    let sealed = 0
    for (const row of await repo.listAll()) {
      if (isSealed(row.private_jwk)) continue
      const replacement = sealPrivateKey(row.private_jwk, row.kid, secret)
      // Conditional: of instances starting together, one seals each key.
      if (await repo.replacePrivateKey(row.kid, row.private_jwk, replacement)) sealed++
    }
    if (sealed > 0) log.info({ count: sealed }, 'encrypted plaintext signing keys with KEY_ENCRYPTION_SECRET')
    return sealed
  }

  /** Creates a new key and makes it the active one; the previous key starts retiring. */
  async rotate(
    alg: SigningAlg = this.options.signingAlg,
    who: AuditContext = SYSTEM_CONTEXT,
  ): Promise<{ kid: string; alg: SigningAlg }> {
    const { repo, clock, log, audit } = this.options
    // Proves the secret opens the current keys before sealing a new one with it: a CLI run
    // with the wrong secret must fail, not activate a key the servers cannot open.
    await this.reload()
    await this.#assertSealingMatches()
    // Retiring keys stay published until their tokens expire: rotating in a loop would
    // pile them up in the JWKS every resource server downloads. Bounded here, clearly.
    if ((await repo.listUsable()).length >= MAX_USABLE_KEYS) {
      throw conflict(
        `${MAX_USABLE_KEYS} signing keys are still published (retiring keys stay until their tokens expire); rotate again once some have retired.`,
      )
    }
    const row = await this.#newKeyRow(alg)
    await repo.insert(row)
    const previous = this.#signer?.kid ?? null
    await repo.activate(row.kid, clock(), (trx) =>
      audit.record(trx, who, { type: 'key.rotated', details: { kid: row.kid, alg, previous_kid: previous } }),
    )
    await this.reload()
    log.info({ kid: row.kid, alg }, 'signing key activated')
    return { kid: row.kid, alg }
  }

  /** Publishes a `next` key ahead of an automatic rotation, unless one exists. Returns its kid if created. */
  async publishNextKey(activeKid: string): Promise<string | undefined> {
    const row = await this.#newKeyRow(this.options.signingAlg)
    if (!(await this.options.repo.insertNextKey(row, activeKid))) return undefined
    this.options.log.info({ kid: row.kid, alg: row.alg }, 'next signing key published')
    return row.kid
  }

  /** Activates the published `next` key if `activeKid` is still active. True if this call rotated. */
  async activateNextKey(activeKid: string, nextKid: string): Promise<boolean> {
    const { repo, audit, clock } = this.options
    const rotated = await repo.activateNext(activeKid, nextKid, clock(), (trx) =>
      audit.record(trx, SYSTEM_CONTEXT, {
        type: 'key.rotated',
        details: { kid: nextKid, previous_kid: activeKid, automatic: true },
      }),
    )
    if (rotated) this.options.log.info({ kid: nextKid, previous: activeKid }, 'signing key rotated')
    return rotated
  }

  /** Every key in the database, newest first, without private material. */
  async listKeys(): Promise<KeyInfo[]> {
    return (await this.options.repo.listAll()).reverse().map(toKeyInfo)
  }

  /**
   * With a secret set, plaintext keys mean the servers run without one (a server with the
   * secret seals them at start): a key sealed now would stop them. Refuse, saying why.
   */
  async #assertSealingMatches(): Promise<void> {
    if (!this.options.keyEncryptionSecret) return
    const plaintext = (await this.options.repo.listUsable()).filter((r) => !isSealed(r.private_jwk))
    if (plaintext.length > 0) {
      throw new KeyDecryptionError(
        'KEY_ENCRYPTION_SECRET is set but the signing keys are stored unencrypted: start a server with the secret first (it encrypts them), or unset it here',
      )
    }
  }

  async #newKeyRow(alg: SigningAlg): Promise<SigningKeyRow> {
    const secret = this.options.keyEncryptionSecret
    const key = await generateSigningKey(alg)
    const privateText = JSON.stringify(key.privateJwk)
    return {
      kid: key.kid,
      alg,
      status: 'next',
      public_jwk: JSON.stringify(key.publicJwk),
      private_jwk: secret ? sealPrivateKey(privateText, key.kid, secret) : privateText,
      created_at: this.options.clock(),
      activated_at: null,
      retiring_at: null,
      retired_at: null,
    }
  }
}
