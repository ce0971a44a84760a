import { parseCookie, stringifySetCookie } from 'cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SessionRow } from '../db/schema.js'
import { BadgeError, invalidRequest } from '../errors.js'
import type { TokenResponse } from './grants.js'

// Browser mode (docs/contract.md §8): the refresh token travels in an HttpOnly cookie that
// page scripts cannot read, scoped to /oauth so it never rides along on API calls.
// The cookie is only ever set, read or cleared here. Every request that sets or
// uses it has passed the CSRF guard (plugins/browser.ts) first.

export const REFRESH_COOKIE = '__Secure-badge_rt'
export const REFRESH_COOKIE_PATH = '/oauth'

export type CookieSameSite = 'Strict' | 'Lax' | 'None'
export type Delivery = 'body' | 'cookie'

declare module 'fastify' {
  interface FastifyReply {
    /** Sets the refresh-token cookie to live `maxAge` seconds (the session's remaining absolute life). */
    setRefreshCookie(token: string, maxAge: number): FastifyReply
    /** Expires the refresh-token cookie in the browser (logout, revoked or failed session). */
    clearRefreshCookie(): FastifyReply
  }
}

/**
 * The Set-Cookie value that sets (`token`, living `maxAge` seconds) or, with no token,
 * expires the refresh cookie. `__Secure-` makes browsers refuse it without `Secure`;
 * SameSite=None cookies must also be `Partitioned` (CHIPS), or browsers that block
 * third-party cookies drop them. Clearing repeats path and partitioning to hit the same
 * cookie. Written here rather than through @fastify/cookie, whose onSend hook ran on
 * every request of every route to set the one cookie of a few (docs/performance.md).
 */
export function refreshCookieHeader(
  sameSite: CookieSameSite,
  cookie: { token: string; maxAge: number } | { cleared: true },
): string {
  const attributes = {
    httpOnly: true,
    secure: true,
    sameSite: sameSite === 'Strict' ? 'strict' : sameSite === 'Lax' ? 'lax' : 'none',
    path: REFRESH_COOKIE_PATH,
    partitioned: sameSite === 'None',
  } as const
  return 'token' in cookie
    ? stringifySetCookie({ name: REFRESH_COOKIE, value: cookie.token, maxAge: cookie.maxAge, ...attributes })
    : stringifySetCookie({ name: REFRESH_COOKIE, value: '', maxAge: 0, expires: new Date(0), ...attributes })
}

/**
 * Seconds the session has left before its absolute expiry (rotation never extends it),
 * rounded up: at login it is exactly REFRESH_TOKEN_TTL, and a cookie that outlives its
 * session by under a second only earns a refused refresh, which clears it.
 */
export function remainingLife(session: Pick<SessionRow, 'expires_at'>, now: number): number {
  return Math.max(0, Math.ceil((session.expires_at - now) / 1000))
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  // Parsed here, by the only code that reads a cookie, rather than for every request
  // (docs/performance.md). The first of two same-named cookies wins, as in every parser.
  const header = request.headers.cookie
  if (header === undefined || header === '') return undefined
  const value = parseCookie(header)[REFRESH_COOKIE]
  return value === undefined || value === '' ? undefined : value
}

/** Moves the refresh token of a grant's response into the cookie: the body never carries it. */
export function deliverByCookie(
  reply: FastifyReply,
  { response, session }: { response: TokenResponse; session: SessionRow },
  now: number,
): TokenResponse {
  const { refresh_token: refreshToken, ...body } = response
  if (refreshToken !== undefined) reply.setRefreshCookie(refreshToken, remainingLife(session, now))
  return body
}

export interface CookieRequestDeps {
  /** Throws 403 csrf_rejected unless the request comes from Badge's own or a listed origin. */
  checkCsrf: (request: FastifyRequest) => void
}

/**
 * The cookie a request means to use, after the CSRF guard. No cookie at all is the
 * caller's mistake (400), checked first so that curl users get invalid_request.
 */
export function useRefreshCookie(request: FastifyRequest, { checkCsrf }: CookieRequestDeps): string {
  const token = readRefreshCookie(request)
  if (token === undefined) {
    throw invalidRequest(
      'No refresh token: send refresh_token (body mode) or the refresh-token cookie (browser mode).',
    )
  }
  checkCsrf(request)
  return token
}

/**
 * A refresh grant whose token comes from the cookie: the successor (a fresh one, or
 * the same one for a retry inside the grace window) goes back as the cookie. A refused
 * refresh clears the cookie, so the browser stops presenting a dead token; an outage
 * (5xx) or rate limit keeps it for a retry.
 */
export async function refreshWithCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: CookieRequestDeps & { now: () => number },
  grant: (refreshToken: string) => Promise<{ response: TokenResponse; session: SessionRow }>,
): Promise<TokenResponse> {
  const token = useRefreshCookie(request, deps)
  try {
    return deliverByCookie(reply, await grant(token), deps.now())
  } catch (error) {
    if (error instanceof BadgeError && error.statusCode === 400) reply.clearRefreshCookie()
    throw error
  }
}
