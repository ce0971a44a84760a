import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createClient, { type Middleware } from 'openapi-fetch'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { CLIENT_TYPES_FILE, generateClientTypes } from '../../scripts/client-types.js'
import { OpenApiValidator } from '../helpers/openapi-validator.js'
import { startServer } from '../helpers/server.js'
import type { paths } from './generated/badge-api.js'

// A Badge user's TypeScript client: types generated from openapi.yaml by
// openapi-typescript, requests made by openapi-fetch, against the real server. This
// file is type-checked against those types by `npm run typecheck`; the first test
// proves they are what openapi.yaml generates today.

const yaml = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')

t.test('the committed client types are what openapi-typescript generates from openapi.yaml', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'badge-client-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'badge-api.d.ts')
  writeFileSync(file, await generateClientTypes(yaml))
  t.equal(readFileSync(CLIENT_TYPES_FILE, 'utf8'), readFileSync(file, 'utf8'), 'run `npm run openapi`')
})

/** Every response the client receives must match openapi.yaml, like every test app's. */
function conformsToOpenApi(t: Test): Middleware {
  const validator = new OpenApiValidator(parse(yaml))
  return {
    async onResponse({ request, response }) {
      const path = validator.templateFor(new URL(request.url).pathname)
      const problems = validator.validate({
        method: request.method,
        path,
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.clone().text(),
      })
      t.same(problems, [], `${request.method} ${path} → ${response.status} matches openapi.yaml`)
    },
  }
}

t.test(
  'a generated client signs up, logs in, lists sessions, refreshes, logs out and administers',
  async (t) => {
    const admin = { email: 'root@example.com', password: 'an admin password long enough' }
    const server = await startServer(t, {
      BOOTSTRAP_ADMIN_EMAIL: admin.email,
      BOOTSTRAP_ADMIN_PASSWORD: admin.password,
    })
    const badge = createClient<paths>({ baseUrl: server.url })
    badge.use(conformsToOpenApi(t))
    const email = `ada.${process.pid}@example.com`
    const password = 'correct horse battery staple'

    const signup = await badge.POST('/v1/users', { body: { email, password, name: 'Ada' } })
    t.equal(signup.response.status, 201)
    t.same(signup.data?.scopes, ['profile:read', 'profile:write'])
    // @ts-expect-error the generated User type has exactly the documented fields
    t.equal(signup.data?.password_hash, undefined)

    // The OAuth standard's form encoding; openapi-fetch serializes the typed body.
    const login = await badge.POST('/oauth/token', {
      body: { grant_type: 'password', username: email, password },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    t.equal(login.response.status, 200)
    t.equal(login.data?.token_type, 'Bearer')
    const tokens = login.data!
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

    const me = await badge.GET('/v1/me', auth(tokens.access_token))
    t.same(me.data, signup.data)

    const claims = await badge.GET('/v1/me/claims', auth(tokens.access_token))
    t.equal(claims.data?.sub, signup.data?.id)
    t.equal(claims.data?.iss, server.url)

    const renamed = await badge.PATCH('/v1/me', { ...auth(tokens.access_token), body: { name: 'Ada King' } })
    t.equal(renamed.data?.name, 'Ada King')

    const sessions = await badge.GET('/v1/me/sessions', auth(tokens.access_token))
    t.equal(sessions.data?.items.length, 1)
    t.equal(sessions.data?.items[0]?.id, claims.data?.sid)
    t.equal(sessions.data?.items[0]?.current, true)

    // JSON works on /oauth/* too.
    const refreshed = await badge.POST('/oauth/token', {
      body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
    })
    t.equal(refreshed.response.status, 200)
    t.not(refreshed.data?.refresh_token, tokens.refresh_token)

    const logout = await badge.POST('/oauth/revoke', { body: { token: refreshed.data!.refresh_token! } })
    t.equal(logout.response.status, 200)

    const afterLogout = await badge.POST('/oauth/token', {
      body: { grant_type: 'refresh_token', refresh_token: refreshed.data!.refresh_token! },
    })
    t.equal(afterLogout.response.status, 400)
    t.equal(afterLogout.error?.error, 'invalid_grant')
    // The token endpoint's error codes are a typed union a client can switch on
    // exhaustively: this literal must name each of them, and nothing else.
    const tokenErrors: Record<NonNullable<typeof afterLogout.error>['error'], true> = {
      invalid_request: true,
      invalid_grant: true,
      invalid_scope: true,
      unsupported_grant_type: true,
      invalid_client: true,
      csrf_rejected: true,
      email_not_verified: true,
      payload_too_large: true,
      unsupported_media_type: true,
      too_many_requests: true,
      temporarily_unavailable: true,
      mfa_required: true,
      invalid_dpop_proof: true,
      use_dpop_nonce: true,
      server_error: true,
    }
    t.ok(tokenErrors.invalid_grant)

    const unauthenticated = await badge.GET('/v1/me')
    t.equal(unauthenticated.response.status, 401)
    t.equal(unauthenticated.error?.error, 'unauthorized')

    // The logout above revoked that session's access token (docs/revocation.md): log in again.
    const again = await badge.POST('/oauth/token', {
      body: { grant_type: 'password', username: email, password },
    })
    const forbidden = await badge.GET('/v1/admin/users', auth(again.data!.access_token))
    t.equal(forbidden.response.status, 403)
    t.equal(forbidden.error?.error, 'insufficient_scope')

    const adminLogin = await badge.POST('/oauth/token', {
      body: { grant_type: 'password', username: admin.email, password: admin.password, scope: 'admin' },
    })
    const users = await badge.GET('/v1/admin/users', {
      ...auth(adminLogin.data!.access_token),
      params: { query: { limit: 10 } },
    })
    t.equal(users.response.status, 200)
    t.same(users.data?.items.map((u) => [u.email, u.disabled]).sort(), [
      [email, false],
      [admin.email, false],
    ])
    t.equal(users.data?.next_cursor, null)
  },
)
