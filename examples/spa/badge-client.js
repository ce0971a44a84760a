// Badge browser client: a plain ES module, no build step, no dependencies.
//
// Browser mode (Badge docs/contract.md §8): the access token lives only in this object's
// memory; the refresh token lives in Badge's HttpOnly cookie `__Secure-badge_rt`,
// which no script (yours or an injected one) can read. Copy this file into your app:
//
//   import { BadgeClient } from './badge-client.js'
//   const badge = new BadgeClient({ issuer: 'https://auth.example.com' })
//   await badge.restore()                 // silent session restore on page load
//   await badge.login(email, password)    // or show a login form if restore() gave null
//   const res = await badge.fetch('https://api.example.com/things')
//   await badge.logout()
//
// Second factors and passkeys: login() throws MfaRequiredError for an account with a
// second factor; finish with badge.completeMfa(error.mfaToken, { otp }) or
// badge.completeMfaWithPasskey(error.mfaToken). badge.loginWithPasskey() logs in with a
// passkey alone; badge.registerPasskey(name) adds one for the logged-in user.
//
// Refreshes are single-flight across tabs: a Web Lock (navigator.locks) or, where
// that is missing, a BroadcastChannel lock makes tabs take turns, so two tabs never
// send the same refresh-token cookie at once and a late response never puts a spent
// token back into the cookie jar.

/**
 * @typedef {object} BadgeClientOptions
 * @property {string} issuer Badge's base URL (its ISSUER), e.g. "https://auth.example.com".
 * @property {string} [clientId] The app's name, sent as client_id (Badge's default is "badge").
 * @property {string} [scope] Space-separated scopes to ask for at login (default: all the user holds).
 * @property {number} [refreshLeeway] Seconds before expiry at which `fetch` refreshes first (default 30).
 * @property {typeof globalThis.fetch} [fetch] The fetch to use (default: the global one).
 * @property {boolean} [dpop] Sender-constrained tokens (RFC 9449, Badge docs/dpop.md): a
 *   non-extractable ES256 key, kept in IndexedDB, signs a DPoP proof for every token request
 *   and API call, so a stolen access token or refresh cookie is useless without it (default false).
 */

/**
 * What the access token says about the session. Decoded for display only: Badge and
 * your API verify the token; the browser never needs to.
 * @typedef {object} Session
 * @property {string} sub The user's id.
 * @property {string | undefined} sid The session's id (as in GET /v1/me/sessions).
 * @property {string} scope Space-separated scopes of the access token.
 * @property {string} clientId
 * @property {string[]} amr How the user logged in (RFC 8176): ["pwd"], ["pwd","otp","mfa"], ["hwk","user","mfa"]…
 * @property {number} expiresAt When the access token expires, epoch milliseconds (local clock).
 * @property {string | undefined} jkt With `dpop`: the thumbprint of the key the token is bound to.
 */

/** @typedef {(session: Session | null) => void} SessionListener */

/** An error answer from Badge: `error` is the stable code, `description` a sentence. */
export class BadgeError extends Error {
  /**
   * @param {number} status
   * @param {string} error
   * @param {string} description
   */
  constructor(status, error, description) {
    super(`${error}: ${description}`)
    this.name = 'BadgeError'
    this.status = status
    this.error = error
    this.description = description
  }
}

/**
 * A correct password for a user with a second factor: finish the login with
 * BadgeClient.completeMfa() or completeMfaWithPasskey() before the mfa token expires (5 minutes).
 */
export class MfaRequiredError extends BadgeError {
  /** @param {{ error_description?: string, mfa_token: string, mfa_methods: string[] }} body */
  constructor(body) {
    super(400, 'mfa_required', body.error_description ?? 'A second factor is required.')
    this.name = 'MfaRequiredError'
    this.mfaToken = body.mfa_token
    /** @type {string[]} "totp", "recovery_code", "passkey" */
    this.mfaMethods = body.mfa_methods
  }
}

const FORM = 'application/x-www-form-urlencoded'
const MFA_GRANT = 'urn:badge:grant-type:mfa'
const PASSKEY_GRANT = 'urn:badge:grant-type:passkey'
const LOCK_NAME = 'badge-refresh'

export class BadgeClient {
  /** @type {string | null} */ #accessToken = null
  /** @type {Session | null} */ #session = null
  /** @type {Promise<Session | null> | null} */ #refreshing = null
  /** @type {Set<SessionListener>} */ #listeners = new Set()
  /** @type {BroadcastChannel | null} */ #channel = null
  /** Badge refused the cookie or we logged out: `fetch` stops trying to refresh. */
  #loggedOut = false
  #issuer
  #clientId
  #scope
  #leewayMs
  #fetch
  #lock
  /** @type {DpopSigner | null} */ #dpop = null

  /** @param {BadgeClientOptions} options */
  constructor(options) {
    this.#issuer = options.issuer.replace(/\/+$/, '')
    this.#clientId = options.clientId
    this.#scope = options.scope
    this.#leewayMs = (options.refreshLeeway ?? 30) * 1000
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.#lock = crossTabLock(`${LOCK_NAME} ${this.#issuer}`)
    if (options.dpop) this.#dpop = createDpopSigner(this.#issuer)
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`badge-session ${this.#issuer}`)
      this.#channel.onmessage = (event) => this.#onOtherTab(event.data)
    }
  }

  /** The current session, or null when logged out (or not restored yet). */
  get session() {
    return this.#session
  }

  /**
   * Calls `listener` whenever the session changes: login, refresh, logout, here or in
   * another tab. Returns a function that unsubscribes.
   * @param {SessionListener} listener
   * @returns {() => void}
   */
  onChange(listener) {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Creates an account (POST /v1/users). Does not log in.
   * @param {{ email: string, password: string, name?: string }} account
   * @returns {Promise<{ id: string, email: string, name: string | null, scopes: string[] }>}
   */
  async signUp(account) {
    const res = await this.#fetch(`${this.#issuer}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(account),
    })
    if (!res.ok) throw await toError(res)
    return res.json()
  }

  /**
   * Logs in with the password grant; Badge keeps the refresh token in its cookie.
   * @param {string} email
   * @param {string} password
   * @returns {Promise<Session>}
   */
  async login(email, password) {
    /** @type {Record<string, string>} */
    const fields = { grant_type: 'password', username: email, password, refresh_token_delivery: 'cookie' }
    if (this.#scope) fields.scope = this.#scope
    const session = await this.#lock(async () => this.#accept(await this.#tokenRequest(fields)))
    this.#post({ type: 'login' })
    return /** @type {Session} */ (session)
  }

  /**
   * Silent session restore, for page load: a cookie refresh. Resolves to the session,
   * or null when there is none (never logged in, logged out, expired or revoked).
   * @returns {Promise<Session | null>}
   */
  restore() {
    return this.refresh()
  }

  /**
   * Gets a new access token with the refresh-token cookie, which Badge rotates. One
   * refresh at a time per tab (callers share it) and across tabs (they take turns).
   * Resolves to null when Badge refuses the cookie (the session is over); throws a
   * BadgeError or TypeError when Badge cannot be reached, keeping the session.
   * @returns {Promise<Session | null>}
   */
  refresh() {
    this.#refreshing ??= this.#lock(async () => {
      try {
        return this.#accept(await this.#tokenRequest({ grant_type: 'refresh_token' }))
      } catch (error) {
        if (error instanceof BadgeError && error.status === 400) return this.#forget()
        throw error
      }
    }).finally(() => {
      this.#refreshing = null
    })
    return this.#refreshing
  }

  /**
   * Ends the session at Badge (which clears the cookie) and forgets the access token,
   * here and in the other tabs.
   * @returns {Promise<void>}
   */
  async logout() {
    try {
      await this.#lock(async () => {
        const res = await this.#fetch(`${this.#issuer}/oauth/revoke`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': FORM, 'x-badge-csrf': '1' },
          body: '',
        })
        // 400: there was no cookie, so no session to end either.
        if (!res.ok && res.status !== 400) throw await toError(res)
      })
    } finally {
      this.#forget()
      this.#post({ type: 'logout' })
    }
  }

  /**
   * Ends every session of the user (DELETE /v1/me/sessions, "log out everywhere"),
   * which also clears the cookie, then forgets the access token here and in the
   * other tabs.
   * @returns {Promise<void>}
   */
  async logoutEverywhere() {
    const res = await this.fetch(`${this.#issuer}/v1/me/sessions`, { method: 'DELETE' })
    if (!res.ok) throw await toError(res)
    this.#forget()
    this.#post({ type: 'logout' })
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`. Refreshes first when the
   * token is missing or about to expire, and once more (then retries once) if the
   * server still answers 401. Without a session the request goes out without a token.
   * Requests to Badge itself go with credentials, so that a response clearing the
   * refresh cookie (as DELETE /v1/me/sessions does) takes effect; the cookie itself is
   * never sent there (it is scoped to /oauth).
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init) {
    const request = new Request(input, init)
    const expiring = Date.now() >= (this.#session?.expiresAt ?? 0) - this.#leewayMs
    if (!this.#loggedOut && expiring) await this.refresh()
    const sentWith = this.#accessToken
    const res = await this.#send(request.clone(), sentWith)
    if (res.status !== 401 || sentWith === null) return res
    // Another call (or tab) may have refreshed meanwhile; otherwise refresh now.
    if (this.#accessToken === sentWith) await this.refresh()
    if (this.#accessToken === null || this.#accessToken === sentWith) return res
    return this.#send(request, this.#accessToken)
  }

  /**
   * @param {Request} request
   * @param {string | null} token
   */
  async #send(request, token) {
    if (token === null || this.#dpop === null) return this.#fetch(this.#prepare(request, token))
    return this.#dpop.send(
      this.#fetch,
      request.clone(),
      (proof) => {
        const prepared = this.#prepare(request.clone(), token, 'DPoP')
        prepared.headers.set('dpop', proof)
        return prepared
      },
      token,
    )
  }

  /**
   * @param {Request} request
   * @param {string | null} token
   * @param {'Bearer' | 'DPoP'} [scheme]
   */
  #prepare(request, token, scheme = 'Bearer') {
    const toBadge = new URL(request.url).origin === new URL(this.#issuer).origin
    if (token === null && !toBadge) return request
    const headers = new Headers(request.headers)
    if (token !== null) headers.set('authorization', `${scheme} ${token}`)
    return new Request(request, toBadge ? { headers, credentials: 'include' } : { headers })
  }

  // Second factors and passkeys (Badge docs/contract.md §10). A password login of a user with a
  // second factor throws MfaRequiredError; finish it with completeMfa() (a TOTP or
  // recovery code) or completeMfaWithPasskey(). loginWithPasskey() needs no password.

  /**
   * Finishes a login that threw MfaRequiredError with a TOTP code or a recovery code.
   * @param {string} mfaToken The error's `mfaToken`.
   * @param {{ otp: string } | { recoveryCode: string }} factor
   * @returns {Promise<Session>}
   */
  async completeMfa(mfaToken, factor) {
    /** @type {Record<string, string>} */
    const fields = { grant_type: MFA_GRANT, mfa_token: mfaToken, refresh_token_delivery: 'cookie' }
    if ('otp' in factor) fields.otp = factor.otp
    else fields.recovery_code = factor.recoveryCode
    return this.#startSession(fields)
  }

  /**
   * Finishes a login that threw MfaRequiredError with one of the user's passkeys.
   * @param {string} mfaToken
   * @returns {Promise<Session>}
   */
  async completeMfaWithPasskey(mfaToken) {
    const { passkey_session, credential } = await this.#passkeyAssertion()
    return this.#startSession({
      grant_type: MFA_GRANT,
      mfa_token: mfaToken,
      passkey_session,
      credential,
      refresh_token_delivery: 'cookie',
    })
  }

  /**
   * Logs in with a passkey alone: the browser asks which of the user's passkeys for
   * this site to use, and to verify the user (PIN, fingerprint, face).
   * @returns {Promise<Session>}
   */
  async loginWithPasskey() {
    const { passkey_session, credential } = await this.#passkeyAssertion()
    /** @type {Record<string, string>} */
    const fields = {
      grant_type: PASSKEY_GRANT,
      passkey_session,
      credential,
      refresh_token_delivery: 'cookie',
    }
    if (this.#scope) fields.scope = this.#scope
    return this.#startSession(fields)
  }

  /**
   * Registers a new passkey for the logged-in user (POST /v1/me/passkeys).
   * @param {string} [name] A label for it, e.g. "Laptop".
   * @returns {Promise<{ id: string, name: string, created_at: string }>}
   */
  async registerPasskey(name) {
    const start = await this.fetch(`${this.#issuer}/v1/me/passkeys/options`, { method: 'POST' })
    if (!start.ok) throw await toError(start)
    const publicKey = creationOptionsFromJSON(await start.json())
    const created = /** @type {PublicKeyCredential | null} */ (
      await navigator.credentials.create({ publicKey })
    )
    if (!created) throw new BadgeError(0, 'passkey_cancelled', 'No passkey was created.')
    const res = await this.fetch(`${this.#issuer}/v1/me/passkeys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        name ? { response: credentialToJSON(created), name } : { response: credentialToJSON(created) },
      ),
    })
    if (!res.ok) throw await toError(res)
    return res.json()
  }

  /** Options from Badge, the browser's signature, as the token endpoint wants them. */
  async #passkeyAssertion() {
    const res = await this.#fetch(`${this.#issuer}/oauth/passkey/options`, { method: 'POST' })
    if (!res.ok) throw await toError(res)
    /** @type {{ options: any, passkey_session: string }} */
    const { options, passkey_session } = await res.json()
    const publicKey = requestOptionsFromJSON(options)
    const assertion = /** @type {PublicKeyCredential | null} */ (
      await navigator.credentials.get({ publicKey })
    )
    if (!assertion) throw new BadgeError(0, 'passkey_cancelled', 'No passkey was used.')
    return { passkey_session, credential: JSON.stringify(credentialToJSON(assertion)) }
  }

  /** @param {Record<string, string>} fields */
  async #startSession(fields) {
    const session = await this.#lock(async () => this.#accept(await this.#tokenRequest(fields)))
    this.#post({ type: 'login' })
    return /** @type {Session} */ (session)
  }

  /** @param {Record<string, string>} fields */
  async #tokenRequest(fields) {
    if (this.#clientId) fields.client_id = this.#clientId
    const url = `${this.#issuer}/oauth/token`
    /** @param {Record<string, string>} [extra] */
    const request = (extra) =>
      new Request(url, {
        method: 'POST',
        credentials: 'include', // the cookie goes out and comes back; nothing else does
        headers: { 'content-type': FORM, 'x-badge-csrf': '1', ...extra },
        body: new URLSearchParams(fields),
      })
    const res =
      this.#dpop === null
        ? await this.#fetch(request())
        : await this.#dpop.send(this.#fetch, request(), (proof) => request({ dpop: proof }))
    if (!res.ok) throw await toError(res)
    return /** @type {Promise<{ access_token: string, expires_in: number, scope: string }>} */ (res.json())
  }

  /** @param {{ access_token: string, expires_in: number, scope: string }} body */
  #accept(body) {
    const claims = decodeClaims(body.access_token)
    this.#accessToken = body.access_token
    this.#loggedOut = false
    this.#session = {
      sub: claims.sub,
      sid: claims.sid,
      scope: body.scope,
      clientId: claims.client_id,
      amr: claims.amr ?? [],
      expiresAt: Date.now() + body.expires_in * 1000,
      jkt: claims.cnf?.jkt,
    }
    this.#emit()
    return this.#session
  }

  #forget() {
    const had = this.#session !== null
    this.#loggedOut = true
    this.#accessToken = null
    this.#session = null
    if (had) this.#emit()
    return null
  }

  #emit() {
    for (const listener of this.#listeners) listener(this.#session)
  }

  /** @param {{ type: string }} message */
  #post(message) {
    this.#channel?.postMessage(message)
  }

  /** @param {{ type?: string }} message */
  #onOtherTab(message) {
    if (message?.type === 'logout') this.#forget()
    // Another tab started a new session: our access token (if any) names the old one.
    if (message?.type === 'login') this.refresh().catch(() => {})
  }
}

/** @param {string} jwt */
function decodeClaims(jwt) {
  const payload = jwt.split('.')[1] ?? ''
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0))
  return JSON.parse(new TextDecoder().decode(bytes))
}

// DPoP (RFC 9449), opt-in with `dpop: true`. The key pair is made by WebCrypto with
// extractable: false, so no script (this one included) can ever read the private key;
// IndexedDB stores the CryptoKey objects themselves (structured clone), so the same key
// survives reloads and is shared by the tabs of this origin, as the refresh cookie is.

const DPOP_DB = 'badge-dpop'
const DPOP_STORE = 'keys'

/**
 * @typedef {object} DpopSigner
 * @property {(fetch: typeof globalThis.fetch, probe: Request, withProof: (proof: string) => Request, accessToken?: string) => Promise<Response>} send
 *   Sends the request with a fresh proof; once more with Badge's nonce if it asks for one.
 */

/**
 * Opens (or creates) the IndexedDB store of DPoP keys.
 * @returns {Promise<IDBDatabase>}
 */
function openDpopDatabase() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DPOP_DB, 1)
    open.onupgradeneeded = () => open.result.createObjectStore(DPOP_STORE)
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
}

/**
 * The DPoP key pair for `issuer`: the stored one, or a new non-extractable ES256 pair.
 * Exported so an app (or a test) can check that the private key is not extractable.
 * @param {string} issuer
 * @returns {Promise<CryptoKeyPair>}
 */
export async function loadDpopKey(issuer) {
  const db = await openDpopDatabase()
  try {
    /** @type {(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest) => Promise<any>} */
    const request = (mode, run) =>
      new Promise((resolve, reject) => {
        const req = run(db.transaction(DPOP_STORE, mode).objectStore(DPOP_STORE))
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
    const stored = await request('readonly', (store) => store.get(issuer))
    if (stored) return stored
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])
    // add(), not put(): if another tab stored a key meanwhile, use that one.
    try {
      await request('readwrite', (store) => store.add(pair, issuer))
      return pair
    } catch {
      return request('readonly', (store) => store.get(issuer))
    }
  } finally {
    db.close()
  }
}

/** @param {ArrayBuffer | Uint8Array} bytes */
function base64url(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let binary = ''
  for (const byte of view) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** @param {unknown} value */
const encodeJson = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)))

/**
 * A DPoP proof (RFC 9449 §4.2) for one request, signed with the pair's private key.
 * @param {CryptoKeyPair} pair
 * @param {string} method
 * @param {string} url
 * @param {string | undefined} accessToken
 * @param {string | undefined} nonce
 */
async function signDpopProof(pair, method, url, accessToken, nonce) {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey)
  const target = new URL(url)
  /** @type {Record<string, unknown>} */
  const claims = {
    jti: crypto.randomUUID(),
    htm: method,
    htu: `${target.origin}${target.pathname}`, // no query, no fragment (§4.2)
    iat: Math.floor(Date.now() / 1000),
  }
  if (accessToken !== undefined)
    claims.ath = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))
  if (nonce !== undefined) claims.nonce = nonce
  const input = `${encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encodeJson(claims)}`
  // WebCrypto's ECDSA signature is r || s, exactly JWS's form (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    pair.privateKey,
    new TextEncoder().encode(input),
  )
  return `${input}.${base64url(signature)}`
}

/**
 * True when Badge asks for a (new) server nonce: 400 at the token endpoint, 401 with a
 * DPoP challenge on protected routes (RFC 9449 §8, §9).
 * @param {Response} res
 */
async function wantsDpopNonce(res) {
  if (!res.headers.get('dpop-nonce')) return false
  if (res.status === 401) return /error="use_dpop_nonce"/.test(res.headers.get('www-authenticate') ?? '')
  if (res.status !== 400) return false
  const body = await res
    .clone()
    .json()
    .catch(() => ({}))
  return body.error === 'use_dpop_nonce'
}

/**
 * The DPoP signer of one BadgeClient: the key (loaded once), and the last nonce each
 * origin sent.
 * @param {string} issuer
 * @returns {DpopSigner}
 */
function createDpopSigner(issuer) {
  /** @type {Promise<CryptoKeyPair> | null} */
  let pair = null
  /** @type {Map<string, string>} */
  const nonces = new Map()
  return {
    async send(fetch, probe, withProof, accessToken) {
      pair ??= loadDpopKey(issuer)
      const origin = new URL(probe.url).origin
      const attempt = async () => {
        const proof = await signDpopProof(
          await /** @type {Promise<CryptoKeyPair>} */ (pair),
          probe.method,
          probe.url,
          accessToken,
          nonces.get(origin),
        )
        const res = await fetch(withProof(proof))
        const nonce = res.headers.get('dpop-nonce')
        if (nonce) nonces.set(origin, nonce)
        return res
      }
      const res = await attempt()
      return (await wantsDpopNonce(res)) ? attempt() : res
    },
  }
}

/** @param {Response} res */
async function toError(res) {
  const body = await res.json().catch(() => ({}))
  if (body.error === 'mfa_required') return new MfaRequiredError(body)
  return new BadgeError(
    res.status,
    body.error ?? 'http_error',
    body.error_description ?? `Badge answered ${res.status}.`,
  )
}

/**
 * Runs callbacks one at a time across every tab of this origin.
 * @param {string} name
 * @returns {<T>(fn: () => Promise<T>) => Promise<T>}
 */
export function crossTabLock(name) {
  const locks = globalThis.navigator?.locks
  if (locks && typeof locks.request === 'function') {
    // request() resolves to what the callback's promise resolves to; the DOM typings nest it.
    return (fn) => /** @type {Promise<any>} */ (locks.request(name, fn))
  }
  if (typeof BroadcastChannel === 'function') return broadcastLock(name)
  return (fn) => fn() // a single-tab environment: nothing to coordinate with
}

const CLAIM_WINDOW_MS = 50
const STALE_CLAIM_MS = 15000

/**
 * A mutex over BroadcastChannel, for browsers without Web Locks. A tab claims the
 * lock, listens for competing claims for CLAIM_WINDOW_MS, and the lowest claim wins;
 * the others wait for its release. Claims of a tab that died holding the lock go
 * stale after STALE_CLAIM_MS. Same-origin messages arrive within a millisecond or
 * two, far inside the window.
 * @param {string} name
 * @returns {<T>(fn: () => Promise<T>) => Promise<T>}
 */
function broadcastLock(name) {
  const channel = new BroadcastChannel(`${name} lock`)
  const me = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`
  /** @type {Map<string, number>} other tabs' claims, by id, with when they were seen */
  const claims = new Map()
  /** @type {Set<() => void>} */
  const waiting = new Set()
  const wake = () => {
    for (const resolve of waiting) resolve()
    waiting.clear()
  }
  channel.onmessage = ({ data }) => {
    if (data?.type === 'claim') claims.set(data.id, Date.now())
    if (data?.type === 'release') claims.delete(data.id)
    wake()
  }
  const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const othersHold = () => {
    for (const [id, seen] of claims) if (Date.now() - seen > STALE_CLAIM_MS) claims.delete(id)
    return claims.size > 0
  }
  const changed = () =>
    Promise.race([new Promise((resolve) => waiting.add(() => resolve(undefined))), sleep(1000)])
  let queue = Promise.resolve()

  /** @param {() => Promise<any>} fn */
  async function acquireAndRun(fn) {
    for (;;) {
      while (othersHold()) await changed()
      channel.postMessage({ type: 'claim', id: me })
      await sleep(CLAIM_WINDOW_MS)
      const lower = [...claims.keys()].some((id) => id < me)
      if (!lower) break
      channel.postMessage({ type: 'release', id: me })
    }
    try {
      return await fn()
    } finally {
      channel.postMessage({ type: 'release', id: me })
    }
  }
  // Within this tab, callers queue behind each other before competing with other tabs.
  return (fn) => {
    const run = queue.then(() => acquireAndRun(fn))
    queue = run.then(
      () => {},
      () => {},
    )
    return run
  }
}

// WebAuthn's JSON forms (Badge sends and takes base64url strings) to and from the
// ArrayBuffers navigator.credentials uses. Written out here so the client stays one
// file with no dependency; newer browsers also have PublicKeyCredential.parse*FromJSON.

/** @param {string} text base64url */
function fromBase64url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer
}

/** @param {ArrayBuffer | ArrayBufferView | null} bytes */
function toBase64url(bytes) {
  if (bytes === null) return undefined
  const view =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return btoa(String.fromCharCode(...view))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

/** @param {{ id: string, type: string, transports?: string[] }} descriptor */
const descriptorFromJSON = (descriptor) =>
  /** @type {PublicKeyCredentialDescriptor} */ ({ ...descriptor, id: fromBase64url(descriptor.id) })

/**
 * @param {any} json PublicKeyCredentialCreationOptionsJSON
 * @returns {PublicKeyCredentialCreationOptions}
 */
function creationOptionsFromJSON(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(descriptorFromJSON),
  }
}

/**
 * @param {any} json PublicKeyCredentialRequestOptionsJSON
 * @returns {PublicKeyCredentialRequestOptions}
 */
function requestOptionsFromJSON(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials ?? []).map(descriptorFromJSON),
  }
}

/**
 * A new credential or an assertion as RegistrationResponseJSON / AuthenticationResponseJSON.
 * @param {PublicKeyCredential} credential
 */
function credentialToJSON(credential) {
  const response = /** @type {any} */ (credential.response)
  /** @type {Record<string, unknown>} */
  const json = { clientDataJSON: toBase64url(response.clientDataJSON) }
  if ('attestationObject' in response) {
    json.attestationObject = toBase64url(response.attestationObject)
    json.transports = typeof response.getTransports === 'function' ? response.getTransports() : []
  } else {
    json.authenticatorData = toBase64url(response.authenticatorData)
    json.signature = toBase64url(response.signature)
    json.userHandle = toBase64url(response.userHandle)
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: json,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  }
}
