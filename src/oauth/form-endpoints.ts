import { z } from 'zod'
import { REFRESH_COOKIE } from './cookie.js'

// What the form-encoded OAuth endpoints (token-routes.ts, revoke-routes.ts) share:
// their content types, their optional client authentication and the browser-mode text
// of their OpenAPI descriptions.

export const param = (max: number) => z.string().max(max)

export const FORM_AND_JSON = ['application/x-www-form-urlencoded', 'application/json']
// No client authentication needed (public apps), but a registered client may authenticate.
export const OPTIONAL_CLIENT_AUTH: Array<Record<string, string[]>> = [{}, { clientBasic: [] }]

// docs/contract.md §8, for the descriptions below.
export const BROWSER_MODE = `Browser mode: the refresh token lives in the cookie ${REFRESH_COOKIE} (HttpOnly; Secure; SameSite=COOKIE_SAMESITE; Path=/oauth; Max-Age = the session's remaining life). Requests that set or use it must send an Origin that is Badge's own or in CORS_ORIGINS and the header X-Badge-CSRF: 1, or get 403 csrf_rejected.`
