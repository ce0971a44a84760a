import { type Clock, systemClock } from '../clock.js'
import { type RevocationEntry, RevokedSet } from './revoked-set.js'

// The kit's side of the revocation feed (docs/contract.md §11, docs/revocation.md): a
// resource server follows Badge's GET /v1/revocations as an event stream, reads it as JSON
// pages every pollIntervalSeconds as well (the fallback, and a catch-up should the stream
// drop something), and keeps the revoked set in memory. Verification never waits on it:
// while Badge is unreachable the set is kept as it was and staleness grows; with
// failClosedAfterSeconds, every token is refused once the view is older than that.

export interface RevocationFeedOptions {
  /** Badge's base URL (its ISSUER, usually). */
  url: string
  clientId: string
  clientSecret: string
  /** JSON poll interval (s): the fallback when the stream is down, and a catch-up otherwise. Default 10. */
  pollIntervalSeconds?: number
  /** Follow the live stream (default true); false polls only. */
  stream?: boolean
  /** Refuse every token once the view is older than this (s). Default: never (keep verifying). */
  failClosedAfterSeconds?: number
  /** Most entries kept (bounded memory); further ones are counted in `overflowed`. Default 200,000. */
  maxEntries?: number
  /** Bounds one poll (ms). Default 5000. */
  timeoutMs?: number
  clock?: Clock
  fetch?: typeof globalThis.fetch
  log?: { warn(details: object, message: string): void }
}

interface FeedPage {
  cursor: string
  sessions: { sid: string; revoked_at: number; expires_at: number }[]
  users: { sub: string; not_before: number; expires_at: number }[]
  has_more?: boolean
}

/** The stream is considered dead after this long without a byte (the heartbeat is 15 s). */
const STREAM_SILENCE_MS = 35_000
const RECONNECT_MS = 1000

export class RevocationFeed {
  readonly set: RevokedSet
  #options: RevocationFeedOptions
  #clock: Clock
  #fetch: typeof globalThis.fetch
  #authorization: string
  #cursor = '0'
  /** When the view was last known current (epoch ms); 0 until the first read. */
  #current = 0
  #failClosedMs: number
  #closed = false
  #pollTimer: NodeJS.Timeout | undefined
  #stream: AbortController | undefined
  #polling: Promise<void> | undefined
  #overflowReported = 0

  constructor(options: RevocationFeedOptions) {
    this.#options = options
    this.#clock = options.clock ?? systemClock
    this.#fetch = options.fetch ?? globalThis.fetch
    this.set = new RevokedSet(options.maxEntries ?? 200_000)
    const encode = (s: string) => encodeURIComponent(s).replaceAll('%20', '+')
    this.#authorization = `Basic ${Buffer.from(`${encode(options.clientId)}:${encode(options.clientSecret)}`).toString('base64')}`
    this.#failClosedMs =
      options.failClosedAfterSeconds === undefined
        ? Number.POSITIVE_INFINITY
        : options.failClosedAfterSeconds * 1000
  }

  /** Reads the current set once (so a restarted service starts current), then follows the feed. */
  async start(): Promise<void> {
    await this.poll().catch((err) => this.#options.log?.warn({ err }, 'revocation feed unreachable at start'))
    this.#pollTimer = setInterval(
      () => void this.poll().catch(() => {}),
      (this.#options.pollIntervalSeconds ?? 10) * 1000,
    )
    this.#pollTimer.unref()
    if (this.#options.stream !== false) void this.#follow()
  }

  close(): void {
    this.#closed = true
    clearInterval(this.#pollTimer)
    this.#stream?.abort()
  }

  /** Seconds since the view was last known current (Infinity before the first read). */
  staleness(): number {
    return this.#current === 0 ? Number.POSITIVE_INFINITY : (this.#clock() - this.#current) / 1000
  }

  /**
   * The check the verifier calls on every request: a Map lookup, plus one clock read when
   * failing closed is configured.
   */
  isRevoked(sub: string, sid: string | undefined, iat: number): boolean {
    if (
      this.#failClosedMs !== Number.POSITIVE_INFINITY &&
      !(this.#clock() - this.#current <= this.#failClosedMs)
    )
      return true
    return this.set.isRevoked(sub, sid, iat)
  }

  /** Reads every page after the cursor; joins a read in progress. */
  poll(): Promise<void> {
    this.#polling ??= this.#readPages().finally(() => {
      this.#polling = undefined
    })
    return this.#polling
  }

  async #readPages(): Promise<void> {
    const started = this.#clock()
    for (;;) {
      const res = await this.#fetch(this.#endpoint(`?since=${this.#cursor}`), {
        headers: { authorization: this.#authorization, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
      })
      if (res.status !== 200) throw new Error(`revocation feed answered ${res.status}`)
      const page = (await res.json()) as FeedPage
      this.#apply(page)
      if (!page.has_more) break
    }
    this.#markCurrent(started)
  }

  #endpoint(query: string): string {
    return `${this.#options.url.replace(/\/+$/, '')}/v1/revocations${query}`
  }

  #apply(page: FeedPage): void {
    const now = Math.floor(this.#clock() / 1000)
    this.set.prune(now)
    for (const s of page.sessions ?? []) this.set.add({ type: 'session', ...s } as RevocationEntry)
    for (const u of page.users ?? []) this.set.add({ type: 'user', ...u } as RevocationEntry)
    if (typeof page.cursor === 'string' && /^\d{1,15}$/.test(page.cursor)) this.#cursor = page.cursor
    if (this.set.overflowed > this.#overflowReported) {
      this.#overflowReported = this.set.overflowed
      this.#options.log?.warn(
        { overflowed: this.set.overflowed },
        'revoked set full (maxEntries): revocations are being dropped',
      )
    }
  }

  #markCurrent(at: number): void {
    if (at > this.#current) this.#current = at
  }

  /** Follows the event stream, reconnecting (from the cursor) until closed. */
  async #follow(): Promise<void> {
    while (!this.#closed) {
      const controller = new AbortController()
      this.#stream = controller
      let silence: NodeJS.Timeout | undefined
      const touch = () => {
        clearTimeout(silence)
        silence = setTimeout(() => controller.abort(), STREAM_SILENCE_MS)
        silence.unref()
      }
      try {
        touch()
        const res = await this.#fetch(this.#endpoint(''), {
          headers: {
            authorization: this.#authorization,
            accept: 'text/event-stream',
            'last-event-id': this.#cursor,
          },
          signal: controller.signal,
        })
        if (res.status !== 200 || !res.body) throw new Error(`revocation stream answered ${res.status}`)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          touch()
          // Bytes arrived: the connection was alive up to now, so the view is current.
          this.#markCurrent(this.#clock())
          buffer += value
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = block.split('\n').find((line) => line.startsWith('data: '))
            if (data) this.#apply(JSON.parse(data.slice(6)) as FeedPage)
          }
          // An unbounded line from a broken peer must not grow memory.
          if (buffer.length > 4_000_000) throw new Error('revocation stream sent an oversized event')
        }
      } catch (err) {
        if (!this.#closed)
          this.#options.log?.warn({ err }, 'revocation stream interrupted: polling until it is back')
      } finally {
        clearTimeout(silence)
      }
      if (!this.#closed) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS).unref())
    }
  }
}
