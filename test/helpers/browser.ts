import type { FastifyInstance, LightMyRequestResponse as Response } from 'fastify'
import { PASSWORD, signUp, uniqueEmail } from './flows.js'

// Browser-mode requests as a listed single-page app sends them (docs/contract.md §8).

export const APP_ORIGIN = 'https://app.example'
export const BROWSER_ENV = { CORS_ORIGINS: `${APP_ORIGIN},https://other-app.example` }
export const COOKIE = '__Secure-badge_rt'

/** The headers a listed app's fetch carries: its Origin, the CSRF header, Fetch Metadata. */
export function fromApp(origin = APP_ORIGIN): Record<string, string> {
  return { origin, 'x-badge-csrf': '1', 'sec-fetch-site': 'same-site' }
}

/** The refresh-token cookie value a response sets ('' when it clears it), or undefined. */
export function setCookieValue(res: Response): string | undefined {
  return res.cookies.find((c) => c.name === COOKIE)?.value
}

export function cookieLogin(
  app: FastifyInstance,
  username: string,
  headers = fromApp(),
  extra: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers,
    payload: {
      grant_type: 'password',
      username,
      password: PASSWORD,
      refresh_token_delivery: 'cookie',
      ...extra,
    },
  })
}

/** Signs up and logs in with cookie delivery; returns the cookie's value. */
export async function browserLogin(app: FastifyInstance) {
  const user = await signUp(app, uniqueEmail('spa'))
  const res = await cookieLogin(app, user.email)
  if (res.statusCode !== 200) throw new Error(`cookie login failed: ${res.statusCode} ${res.body}`)
  return { user, res, cookie: setCookieValue(res)!, accessToken: res.json().access_token as string }
}

/** A refresh grant that presents only the cookie (form-encoded, as a form post would). */
export function cookieRefresh(
  app: FastifyInstance,
  cookie: string | undefined,
  headers = fromApp(),
  extra: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    cookies: cookie === undefined ? {} : { [COOKIE]: cookie },
    payload: new URLSearchParams({ grant_type: 'refresh_token', ...extra }).toString(),
  })
}

export function cookieRevoke(app: FastifyInstance, cookie: string | undefined, headers = fromApp()) {
  return app.inject({
    method: 'POST',
    url: '/oauth/revoke',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    cookies: cookie === undefined ? {} : { [COOKIE]: cookie },
    payload: '',
  })
}
