import { type Clock, systemClock } from '../clock.js'
import { verificationKeyFromJwk } from './jwk.js'
import type { VerificationKey } from './signature.js'
import type { KeySource } from './verifier.js'

// A resource server's key set: Badge's JWKS, fetched from the one URL it was configured
// with (never a jku/x5u named in a token), kept in memory, refreshed in the background
// when its Cache-Control max-age runs out, and refetched early for an unknown kid at
// most once per interval. The bearer check itself never waits on the network: it
// consults the keys in memory and, only for an unknown kid, awaits one throttled refetch.

export interface RemoteJwksOptions {
  /** The issuer's JWKS, e.g. https://auth.example.com/.well-known/jwks.json. */
  jwksUrl: string | URL
  clock?: Clock
  /** Bounds a whole fetch, headers and body (ms). Default 5000. */
  timeoutMs?: number
  /** Fetches never start more often than this (ms): unknown kids, failures, max-age 0. Default 5000. */
  minFetchIntervalMs?: number
  /** Freshness when the response has no Cache-Control max-age (s). Default 300. */
  defaultMaxAgeSeconds?: number
  /** Upper bound on a max-age the server announces (s). Default 86400. */
  maxMaxAgeSeconds?: number
  /** Refuses key sets larger than this (bytes). Default 1 MiB. */
  maxBytes?: number
  fetch?: typeof globalThis.fetch
  /** Told about failed fetches and skipped keys; the kit passes the app's logger. */
  log?: { warn(details: object, message: string): void }
}

export class JwksFetchError extends Error {
  override name = 'JwksFetchError'
}

/** Freshness lifetime in seconds from Cache-Control and Age (RFC 9111 §4.2.1, §4.2.3). */
export function freshnessSeconds(headers: Headers, fallback: number): number {
  const cacheControl = headers.get('cache-control')?.toLowerCase() ?? ''
  if (/(?:^|,)\s*(?:no-store|no-cache)\b/.test(cacheControl)) return 0
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?/.exec(cacheControl)
  if (!maxAge) return fallback
  const age = Number(headers.get('age') ?? 0)
  return Math.max(0, Number(maxAge[1]) - (Number.isFinite(age) ? age : 0))
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > maxBytes) throw new JwksFetchError(`the key set is larger than ${maxBytes} bytes`)
  if (!response.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    if (size > maxBytes) throw new JwksFetchError(`the key set is larger than ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export class RemoteJwks implements KeySource {
  readonly url: URL
  #keys = new Map<string, VerificationKey>()
  #staleAt = 0
  #lastFetchAt = Number.NEGATIVE_INFINITY
  #inFlight: Promise<boolean> | undefined
  #listeners = new Set<() => void>()
  #closed = new AbortController()
  readonly #clock: Clock
  readonly #options: Required<Omit<RemoteJwksOptions, 'jwksUrl' | 'clock' | 'log'>> &
    Pick<RemoteJwksOptions, 'log'>

  constructor(options: RemoteJwksOptions) {
    this.url = new URL(options.jwksUrl)
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:')
      throw new TypeError(`jwksUrl must be an http(s) URL, not ${this.url.protocol}`)
    this.#clock = options.clock ?? systemClock
    this.#options = {
      timeoutMs: options.timeoutMs ?? 5000,
      minFetchIntervalMs: options.minFetchIntervalMs ?? 5000,
      defaultMaxAgeSeconds: options.defaultMaxAgeSeconds ?? 300,
      maxMaxAgeSeconds: options.maxMaxAgeSeconds ?? 86400,
      maxBytes: options.maxBytes ?? 1024 * 1024,
      fetch: options.fetch ?? globalThis.fetch,
      log: options.log,
    }
  }

  get(kid: string): VerificationKey | undefined {
    // Stale keys keep verifying while a background fetch brings fresh ones: the check
    // never waits for the network, and an unreachable issuer does not stop this service.
    if (this.#clock() >= this.#staleAt) this.#refreshInBackground()
    return this.#keys.get(kid)
  }

  get size(): number {
    return this.#keys.size
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async reloadForUnknownKid(): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight.catch(() => false)
    if (this.#clock() - this.#lastFetchAt < this.#options.minFetchIntervalMs) return false
    return this.refresh().catch(() => false)
  }

  /** Fetches the key set now (sharing a fetch already in flight). Rejects if it fails. */
  refresh(): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight
    this.#lastFetchAt = this.#clock()
    this.#inFlight = this.#fetchKeys().finally(() => {
      this.#inFlight = undefined
    })
    return this.#inFlight
  }

  /** Resolves once no fetch is in flight. */
  async settled(): Promise<void> {
    await this.#inFlight?.catch(() => {})
  }

  /** Aborts a fetch in flight and stops background refreshes. */
  close(): void {
    this.#closed.abort()
    this.#staleAt = Number.POSITIVE_INFINITY
  }

  #refreshInBackground(): void {
    if (this.#inFlight || this.#closed.signal.aborted) return
    if (this.#clock() - this.#lastFetchAt < this.#options.minFetchIntervalMs) return
    this.refresh().catch(() => {})
  }

  async #fetchKeys(): Promise<boolean> {
    const { fetch, timeoutMs, minFetchIntervalMs, maxBytes, log } = this.#options
    try {
      const response = await fetch(this.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#closed.signal]),
      })
      if (!response.ok) throw new JwksFetchError(`the JWKS answered ${response.status}`)
      let body: unknown
      try {
        body = JSON.parse(await readBounded(response, maxBytes))
      } catch (error) {
        if (error instanceof JwksFetchError) throw error
        throw new JwksFetchError('the JWKS is not JSON')
      }
      const members = (body as { keys?: unknown } | null)?.keys
      if (!Array.isArray(members)) throw new JwksFetchError('the JWKS has no "keys" array')
      const next = new Map<string, VerificationKey>()
      for (const jwk of members) {
        const key = verificationKeyFromJwk(jwk)
        if (typeof key === 'string')
          log?.warn({ kid: (jwk as { kid?: unknown })?.kid, reason: key }, 'JWKS key skipped')
        else if (!next.has(key.kid)) next.set(key.kid, key)
      }
      const maxAge = Math.min(
        freshnessSeconds(response.headers, this.#options.defaultMaxAgeSeconds),
        this.#options.maxMaxAgeSeconds,
      )
      this.#keys = next
      this.#staleAt = this.#clock() + Math.max(maxAge * 1000, minFetchIntervalMs)
      for (const listener of this.#listeners) listener()
      return true
    } catch (error) {
      // Keep the keys we have; try again no sooner than the minimum interval.
      this.#staleAt = this.#clock() + minFetchIntervalMs
      const reason = error instanceof JwksFetchError ? error.message : (error as Error).message
      log?.warn({ url: this.url.href, reason }, 'could not fetch the JWKS')
      throw error instanceof JwksFetchError ? error : new JwksFetchError(reason)
    }
  }
}
