import type { FastifyBaseLogger } from 'fastify'
import type { JWK } from 'jose'
import type { Clock } from '../clock.js'
import type { SigningAlg } from '../config.js'
import { UnavailableError } from '../errors.js'
import { openPrivateKey, sealPrivateKey } from './encryption.js'
import { generateSigningKey } from './generate.js'
import { type LoadedKey, loadKey } from './loaded-key.js'
import type { KeyRepository } from './repository.js'

export interface KeyStoreOptions {
  repo: KeyRepository
  clock: Clock
  log: FastifyBaseLogger
  signingAlg: SigningAlg
  accessTokenTtl: number
  keyEncryptionSecret: string | undefined
  /** Minimum milliseconds between reloads triggered by an unknown `kid` (CONTRACT §2). */
  unknownKidReloadInterval?: number
}

const LEEWAY_MS = 5_000

/**
 * The in-memory key set: the only state the bearer check consults. Keyed by a Map so
 * that a `kid` such as "__proto__" or "constructor" finds nothing instead of a prototype member.
 */
export class KeyStore {
  #keys = new Map<string, LoadedKey>()
  #signer: LoadedKey | undefined
  #jwks: { keys: JWK[] } = { keys: [] }
  #lastUnknownKidReload = 0
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
      if (row.status === 'retiring' && (row.retiring_at ?? 0) + accessTokenTtl * 1000 + LEEWAY_MS < now)
        continue
      next.set(row.kid, loadKey(row, openPrivateKey(row.private_jwk, row.kid, keyEncryptionSecret)))
    }
    const active = [...next.values()]
      .filter((k) => k.status === 'active')
      .sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0))
    this.#keys = next
    this.#signer = active[0]
    this.#jwks = {
      keys: [...next.values()].flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])),
    }
    for (const listener of this.#listeners) listener()
  }

  /** Reloads for a token whose `kid` is unknown, at most once per interval. Returns true if it reloaded. */
  async reloadForUnknownKid(): Promise<boolean> {
    const now = this.options.clock()
    const interval = this.options.unknownKidReloadInterval ?? 5_000
    if (now - this.#lastUnknownKidReload < interval) return false
    this.#lastUnknownKidReload = now
    try {
      await this.reload()
      return true
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not reload signing keys')
      return false
    }
  }

  /** On first start there is no key: create one for SIGNING_ALG. */
  async ensureSigningKey(): Promise<void> {
    await this.reload()
    if (!this.#signer) await this.rotate()
  }

  /** Creates a new key and makes it the active one; the previous key starts retiring. */
  async rotate(alg: SigningAlg = this.options.signingAlg): Promise<{ kid: string; alg: SigningAlg }> {
    const { repo, clock, keyEncryptionSecret } = this.options
    const key = await generateSigningKey(alg)
    const now = clock()
    const privateText = JSON.stringify(key.privateJwk)
    await repo.insert({
      kid: key.kid,
      alg,
      status: 'next',
      public_jwk: JSON.stringify(key.publicJwk),
      private_jwk: keyEncryptionSecret
        ? sealPrivateKey(privateText, key.kid, keyEncryptionSecret)
        : privateText,
      created_at: now,
      activated_at: null,
      retiring_at: null,
      retired_at: null,
    })
    await repo.activate(key.kid, now)
    await this.reload()
    this.options.log.info({ kid: key.kid, alg }, 'signing key activated')
    return { kid: key.kid, alg }
  }
}
