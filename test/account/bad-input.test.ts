import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD } from '../helpers/flows.js'

// The account routes answer hostile or malformed input with a 4xx in the error shape,
// never a 5xx: NUL characters (PostgreSQL refuses them in text), wrong types, oversized
// tokens, missing fields, other content types; and the authenticated email-change route.

const ROUTES = ['/v1/email/verify', '/v1/password/forgot', '/v1/password/reset'] as const

const BODIES: unknown[] = [
  {},
  [],
  'token',
  { token: 42 },
  { token: ['a'] },
  { token: 'a\u0000b', new_password: 'long enough passphrase' },
  { token: 'x'.repeat(513), new_password: 'long enough passphrase' },
  { token: '\ud800', new_password: 'long enough passphrase' },
  { email: 'a\u0000@example.com' },
  { email: ['a@example.com'] },
  { email: 'x'.repeat(400) },
  { token: 'A'.repeat(43), new_password: 'short' },
  { token: 'A'.repeat(43), new_password: 'nul\u0000in the password' },
  { __proto__: { token: 'x' }, constructor: { prototype: {} } },
]

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  for (const url of ROUTES) {
    for (const body of BODIES) {
      const res = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      })
      const label = `${url} ${JSON.stringify(body).slice(0, 60)}`
      if (res.statusCode === 202) {
        // Forgot-password accepts any well-formed address.
        t.equal(url, '/v1/password/forgot', label)
        continue
      }
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `${label} → ${res.statusCode}`)
      t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], label)
    }
    const form = await app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=x',
    })
    t.equal(form.statusCode, 415, `${url} takes JSON only`)
  }
  await app.services.account.settle()

  // POST /v1/me/email, with a valid access token: the body is all the attacker controls.
  const { tokens } = await login(app)
  const changeBodies: unknown[] = [
    {},
    { new_email: 'new@example.com' },
    { current_password: PASSWORD },
    { new_email: 'a\u0000@example.com', current_password: PASSWORD },
    { new_email: 'new@example.com', current_password: 'nul\u0000in the password' },
    { new_email: 'new@example.com', current_password: 'x'.repeat(1025) },
    { new_email: 'x'.repeat(400), current_password: PASSWORD },
    { new_email: ['new@example.com'], current_password: PASSWORD },
    { new_email: 'not an email', current_password: PASSWORD },
    { new_email: 'new@example.com', current_password: '\ud800' },
  ]
  for (const body of changeBodies) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: { ...bearer(tokens.access_token), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    })
    const label = `/v1/me/email ${JSON.stringify(body).slice(0, 60)}`
    t.equal(res.statusCode, 400, label)
    t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], label)
  }
})
