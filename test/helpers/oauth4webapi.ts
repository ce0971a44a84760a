import { readFileSync } from 'node:fs'
import * as oauth from 'oauth4webapi'
import type { Test } from 'tap'
import { parse } from 'yaml'
import { OpenApiValidator } from './openapi-validator.js'
import type { RunningServer } from './server.js'

// oauth4webapi, a strict standards-only OAuth 2.0 client, pointed at a live Badge
// through its RFC 8414 metadata, as a Badge user's app or resource server would be.

const validator = new OpenApiValidator(
  parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Record<string, unknown>,
)

/**
 * Request options for every oauth4webapi call: plain http is allowed (the test server
 * has no TLS) and every response Badge sends is checked against openapi.yaml.
 */
export function clientOptions(t: Test) {
  return {
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: async (url: string, init: RequestInit) => {
      const response = await fetch(url, init)
      const path = validator.templateFor(new URL(url).pathname)
      const problems = validator.validate({
        method: init.method ?? 'GET',
        path,
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.clone().text(),
      })
      t.same(problems, [], `${init.method ?? 'GET'} ${path} → ${response.status} matches openapi.yaml`)
      return response
    },
  }
}

/** RFC 8414 discovery from the issuer identifier alone. */
export async function discover(t: Test, server: RunningServer) {
  const issuer = new URL(server.url)
  const options = clientOptions(t)
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
  )
  return { as, options }
}

export async function signUp(server: RunningServer, email: string, password: string) {
  const res = await fetch(`${server.url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as { id: string }
}

/** A resource server's request carrying the access token. */
export const resourceRequest = (server: RunningServer, accessToken: string) =>
  new Request(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })

/** The password grant through oauth4webapi's generic grant helper, as the first-party public app "badge". */
export async function passwordLogin(
  as: oauth.AuthorizationServer,
  options: ReturnType<typeof clientOptions>,
  parameters: Record<string, string>,
) {
  const app: oauth.Client = { client_id: 'badge' }
  return oauth.processGenericTokenEndpointResponse(
    as,
    app,
    await oauth.genericTokenEndpointRequest(as, app, oauth.None(), 'password', parameters, options),
  )
}
