import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildNotesApi } from '../../examples/resource-server.js'
import { ADMIN_ENV, adminToken, createClient, form } from '../helpers/admin.js'
import { buildTestApp } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { bearer, PASSWORD, passwordGrant, signUp } from '../helpers/flows.js'

// badge-auth/verify following Badge's revocation feed (docs/contract.md §11): a resource
// server given client credentials refuses tokens of ended sessions with 401 invalid_token,
// by the stream or by polling, learns the current set when it starts, reports how stale
// its view is, and can fail closed.

const { app: badge } = await buildTestApp(t, {
  ...ADMIN_ENV,
  SCOPES: 'profile:read profile:write admin notes:read notes:write',
  DEFAULT_USER_SCOPES: 'profile:read notes:read',
})
await badge.listen({ port: 0, host: '127.0.0.1' })
const badgeUrl = `http://127.0.0.1:${(badge.server.address() as AddressInfo).port}`
const client = await createClient(badge, await adminToken(badge), ['profile:read'], 'notes service')
const credentials = { url: badgeUrl, clientId: client.client_id, clientSecret: client.client_secret }

async function notesApi(t: Test, revocations: Record<string, unknown> = {}, clock = testClock()) {
  const notes = await buildNotesApi({
    issuer: 'http://badge.test',
    jwksUrl: `${badgeUrl}/.well-known/jwks.json`,
    revocations: { ...credentials, ...revocations },
    clock,
  })
  t.teardown(() => notes.close())
  return notes
}

async function loginToBadge() {
  const { email } = await signUp(badge)
  return (await passwordGrant(badge, { username: email, password: PASSWORD })).json() as {
    access_token: string
    refresh_token: string
  }
}

const read = async (notes: Awaited<ReturnType<typeof notesApi>>, token: string) => {
  const res = await notes.inject({ url: '/notes', headers: bearer(token) })
  return { status: res.statusCode, error: res.statusCode === 200 ? undefined : res.json().error }
}

/** Asks until `probe` gives `wanted` (a liveness bound, not a timing assertion). */
async function eventually<T>(probe: () => Promise<T>, wanted: T, boundMs = 10_000): Promise<T> {
  const deadline = Date.now() + boundMs
  let last = await probe()
  while (JSON.stringify(last) !== JSON.stringify(wanted) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    last = await probe()
  }
  return last
}

const REFUSED = { status: 401, error: 'invalid_token' }
const ACCEPTED = { status: 200, error: undefined }

t.test('the stream carries a logout to the resource server', async (t) => {
  const notes = await notesApi(t, { pollIntervalSeconds: 3600 })
  const tokens = await loginToBadge()
  t.same(await read(notes, tokens.access_token), ACCEPTED)
  await form(badge, '/oauth/revoke', { token: tokens.refresh_token })
  t.same(await eventually(() => read(notes, tokens.access_token), REFUSED), REFUSED)
})

t.test('polling alone carries it too', async (t) => {
  const notes = await notesApi(t, { stream: false, pollIntervalSeconds: 1 })
  const tokens = await loginToBadge()
  t.same(await read(notes, tokens.access_token), ACCEPTED)
  await form(badge, '/oauth/revoke', { token: tokens.refresh_token })
  t.same(await eventually(() => read(notes, tokens.access_token), REFUSED), REFUSED)
})

t.test(
  'a resource server started after the revocation refuses the token from its first request',
  async (t) => {
    const tokens = await loginToBadge()
    await form(badge, '/oauth/revoke', { token: tokens.refresh_token })
    const notes = await notesApi(t, { stream: false, pollIntervalSeconds: 3600 })
    t.same(await read(notes, tokens.access_token), REFUSED)
  },
)

t.test('with Badge unreachable it keeps verifying and reports its staleness', async (t) => {
  const clock = testClock()
  const notes = await buildNotesApi({
    issuer: 'http://badge.test',
    jwksUrl: `${badgeUrl}/.well-known/jwks.json`,
    revocations: { ...credentials, url: 'http://127.0.0.1:1', stream: false, pollIntervalSeconds: 3600 },
    clock,
  })
  t.teardown(() => notes.close())
  const tokens = await loginToBadge()
  t.same(await read(notes, tokens.access_token), ACCEPTED, 'fails open by default')
  t.equal(notes.badgeRevocations?.staleness(), Number.POSITIVE_INFINITY, 'never read the feed')
})

t.test('failClosedAfterSeconds refuses every token once the view is older than that', async (t) => {
  const clock = testClock()
  const notes = await notesApi(
    t,
    { stream: false, pollIntervalSeconds: 3600, failClosedAfterSeconds: 60 },
    clock,
  )
  const tokens = await loginToBadge()
  t.same(await read(notes, tokens.access_token), ACCEPTED)
  t.ok(notes.badgeRevocations!.staleness() < 60)
  clock.advance(61_000)
  t.ok(notes.badgeRevocations!.staleness() >= 61)
  t.same(await read(notes, tokens.access_token), REFUSED)
  await notes.badgeRevocations!.poll()
  t.same(await read(notes, tokens.access_token), ACCEPTED, 'current again after a successful read')
})
