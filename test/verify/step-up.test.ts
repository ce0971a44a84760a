import Fastify from 'fastify'
import t from 'tap'
import { CLI_CONTEXT } from '../../src/audit/events.js'
import { badgeVerify, requireAuthentication } from '../../src/verify/index.js'
import { buildTestApp } from '../helpers/app.js'
import { bearer, login, refreshGrant } from '../helpers/flows.js'

// The resource-server kit's step-up (RFC 9470): a route may demand a recent login. A
// refresh keeps the session's auth_time, so refreshing does not make an old login fresh.

const { app: badge, clock } = await buildTestApp(t)
const api = Fastify()
await api.register(badgeVerify, { issuer: 'http://badge.test', keys: badge.services.keys, clock })
api.get(
  '/payouts',
  { onRequest: [api.authenticate, requireAuthentication({ maxAgeSeconds: 300, clock })] },
  async () => ({ ok: true }),
)
t.teardown(() => api.close())

t.test('a login older than max age gets the challenge with max_age, even after a refresh', async (t) => {
  const { tokens } = await login(badge)
  const fresh = await api.inject({ url: '/payouts', headers: bearer(tokens.access_token) })
  t.equal(fresh.statusCode, 200)
  clock.advance(301_000)
  const refreshed = (await refreshGrant(badge, tokens.refresh_token)).json()
  const old = await api.inject({ url: '/payouts', headers: bearer(refreshed.access_token) })
  t.equal(old.statusCode, 401)
  t.equal(
    old.headers['www-authenticate'],
    'Bearer realm="badge", error="insufficient_user_authentication", error_description="This request needs a login from the last 300 seconds: log in again.", max_age=300',
  )
  t.same(old.json(), {
    error: 'insufficient_user_authentication',
    error_description: 'This request needs a login from the last 300 seconds: log in again.',
  })
  const again = await login(badge)
  t.equal((await api.inject({ url: '/payouts', headers: bearer(again.tokens.access_token) })).statusCode, 200)
})

t.test('a token without auth_time (client_credentials) never meets a max age', async (t) => {
  const res = await api.inject({ url: '/payouts' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error, 'unauthorized')
  const { client, clientSecret } = await badge.services.clients.createClient(
    {
      name: 'svc',
      scopes: ['profile:read'],
    },
    CLI_CONTEXT,
  )
  const token = await badge.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: clientSecret },
  })
  const denied = await api.inject({ url: '/payouts', headers: bearer(token.json().access_token) })
  t.equal(denied.statusCode, 401)
  t.equal(denied.json().error, 'insufficient_user_authentication')
})
