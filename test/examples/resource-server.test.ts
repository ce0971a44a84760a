import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildNotesApi } from '../../examples/resource-server.js'
import { buildTestApp } from '../helpers/app.js'
import { type DpopKey, dpopAuth, dpopKey, proof } from '../helpers/dpop.js'
import { PASSWORD, passwordGrant, signUp, uniqueEmail } from '../helpers/flows.js'
import { enableTotp, loginWithMfa, totpCode } from '../helpers/mfa.js'

// examples/resource-server.ts against a live Badge listening on loopback: the notes API
// fetches Badge's JWKS over HTTP and accepts Badge's tokens, with Badge's answers.

const { app: badge, clock } = await buildTestApp(t, {
  SCOPES: 'profile:read profile:write admin notes:read notes:write',
  DEFAULT_USER_SCOPES: 'profile:read notes:read',
})
await badge.listen({ port: 0, host: '127.0.0.1' })
const badgeUrl = `http://127.0.0.1:${(badge.server.address() as AddressInfo).port}`

const notes = await buildNotesApi({
  issuer: 'http://badge.test',
  jwksUrl: `${badgeUrl}/.well-known/jwks.json`,
})
t.teardown(() => notes.close())
await notes.listen({ port: 0, host: '127.0.0.1' })
const notesUrl = `http://127.0.0.1:${(notes.server.address() as AddressInfo).port}`

async function loginToBadge(scope?: string): Promise<string> {
  const email = uniqueEmail()
  const signup = await fetch(`${badgeUrl}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  if (signup.status !== 201) throw new Error(`signup: ${signup.status}`)
  const form = new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD })
  if (scope) form.set('scope', scope)
  const res = await fetch(`${badgeUrl}/oauth/token`, { method: 'POST', body: form })
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { access_token: string }).access_token
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('a token from Badge reads the notes of its own user', async (t) => {
  const token = await loginToBadge()
  const res = await fetch(`${notesUrl}/notes`, { headers: auth(token) })
  t.equal(res.status, 200)
  t.same(await res.json(), { items: [] })
})

t.test('a token without notes:write cannot write: 403 insufficient_scope', async (t) => {
  const token = await loginToBadge()
  const res = await fetch(`${notesUrl}/notes`, {
    method: 'POST',
    headers: { ...auth(token), 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hello' }),
  })
  t.equal(res.status, 403)
  t.equal(
    res.headers.get('www-authenticate'),
    'Bearer realm="badge", error="insufficient_scope", scope="notes:write"',
  )
  t.same(await res.json(), {
    error: 'insufficient_scope',
    error_description: 'This request needs the scope "notes:write".',
  })
})

t.test('a token narrowed to profile:read cannot read notes either', async (t) => {
  const token = await loginToBadge('profile:read')
  const res = await fetch(`${notesUrl}/notes`, { headers: auth(token) })
  t.equal(res.status, 403)
})

t.test('no token is 401 with the bare Bearer challenge', async (t) => {
  const res = await fetch(`${notesUrl}/notes`)
  t.equal(res.status, 401)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="badge"')
  t.same(await res.json(), { error: 'unauthorized', error_description: 'An access token is required.' })
})

t.test('notes written with notes:write are read back by their user only', async (t) => {
  // An admin grants notes:write to a user through Badge's own data, then the user logs in again.
  const email = uniqueEmail()
  await fetch(`${badgeUrl}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  await badge.services.database.db
    .updateTable('users')
    .set({ scopes: 'profile:read notes:read notes:write' })
    .where('email', '=', email)
    .execute()
  const login = await fetch(`${badgeUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }),
  })
  const writer = ((await login.json()) as { access_token: string }).access_token
  const created = await fetch(`${notesUrl}/notes`, {
    method: 'POST',
    headers: { ...auth(writer), 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'buy milk' }),
  })
  t.equal(created.status, 201)
  const mine = (await (await fetch(`${notesUrl}/notes`, { headers: auth(writer) })).json()) as {
    items: Array<{ text: string }>
  }
  t.same(
    mine.items.map((n) => n.text),
    ['buy milk'],
  )
  const someoneElse = await loginToBadge()
  t.same(await (await fetch(`${notesUrl}/notes`, { headers: auth(someoneElse) })).json(), { items: [] })
})

t.test('Badge and the notes API refuse a bad token with the same answer', async (t) => {
  const token = await loginToBadge()
  const [h, p] = token.split('.')
  const forged = `${h}.${p}.${'A'.repeat(86)}`
  const expected = await fetch(`${badgeUrl}/v1/me/claims`, { headers: auth(forged) })
  const actual = await fetch(`${notesUrl}/notes`, { headers: auth(forged) })
  t.equal(actual.status, 401)
  t.equal(expected.status, 401)
  t.equal(actual.headers.get('www-authenticate'), expected.headers.get('www-authenticate'))
  t.equal(actual.headers.get('content-type'), expected.headers.get('content-type'))
  t.equal(actual.headers.get('cache-control'), expected.headers.get('cache-control'))
  t.same(await actual.json(), await expected.json())
})

t.test('the export needs a login with a second factor: RFC 9470 challenge, then 200', async (t) => {
  // Enrolling needs profile:write, which this Badge does not give new users by default.
  const email = uniqueEmail()
  await signUp(badge, email)
  await badge.services.database.db
    .updateTable('users')
    .set({ scopes: 'profile:read profile:write notes:read' })
    .where('email', '=', email)
    .execute()
  const tokens = (await passwordGrant(badge, { username: email, password: PASSWORD })).json()
  const { secret } = await enableTotp(badge, tokens.access_token, clock)
  const weak = await fetch(`${notesUrl}/notes/export`, { headers: auth(tokens.access_token) })
  t.equal(weak.status, 401)
  t.equal(
    weak.headers.get('www-authenticate'),
    'Bearer realm="badge", error="insufficient_user_authentication", error_description="This request needs a login with a second factor: log in again with your authenticator."',
  )
  t.equal(((await weak.json()) as { error: string }).error, 'insufficient_user_authentication')
  // The next step's code (within the accepted drift): the notes API checks iat against the real clock.
  const strong = await loginWithMfa(badge, email, { otp: totpCode(secret, clock, 1) })
  const res = await fetch(`${notesUrl}/notes/export`, { headers: auth(strong.access_token) })
  t.equal(res.status, 200)
  t.same(await res.json(), { items: [] })
})

t.test('a DPoP-bound token works at the notes API only with a proof by its key', async (t) => {
  const key = await dpopKey()
  const email = uniqueEmail('dpop')
  await signUp(badge, email)
  const login = await badge.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await proof(key, { htm: 'POST', htu: 'http://badge.test/oauth/token', now: clock() }),
    },
    payload: new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }).toString(),
  })
  t.equal(login.json().token_type, 'DPoP')
  const token = login.json().access_token as string
  const call = async (k: DpopKey) =>
    fetch(`${notesUrl}/notes`, {
      headers: dpopAuth(
        token,
        await proof(k, { htm: 'GET', htu: `${notesUrl}/notes`, now: Date.now(), accessToken: token }),
      ),
    })
  t.equal((await call(key)).status, 200, 'with a proof by the bound key')
  t.equal((await call(await dpopKey())).status, 401, 'a stolen token with another key')
  const asBearer = await fetch(`${notesUrl}/notes`, { headers: auth(token) })
  t.equal(asBearer.status, 401, 'a bound token sent as Bearer')
  t.match(asBearer.headers.get('www-authenticate'), /^DPoP algs=/)
})
