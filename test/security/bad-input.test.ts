import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectError } from '../helpers/attack.js'
import { bearer, login, PASSWORD, uniqueEmail } from '../helpers/flows.js'

// docs/contract.md §5: bad input is a clear 4xx in {error, error_description}, never a 500.
// This file: sizes, content types and structure. Hostile strings and keys are in
// hostile-strings.test.ts; random requests in fuzz.test.ts.

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)

  await t.test('a body over 64 KiB is 413 payload_too_large on every route that takes one', async (t) => {
    const big = 'x'.repeat(64 * 1024)
    await expectError(
      t,
      app,
      'JSON signup',
      { method: 'POST', url: '/v1/users', payload: { email: big } },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      app,
      'form token',
      { method: 'POST', url: '/oauth/token', headers: FORM, payload: `password=${big}` },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      app,
      'JSON token',
      { method: 'POST', url: '/oauth/token', payload: { password: big } },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      app,
      'form revoke',
      { method: 'POST', url: '/oauth/revoke', headers: FORM, payload: `token=${big}` },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      app,
      'PATCH /v1/me',
      { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: big } },
      413,
      'payload_too_large',
    )
    const justUnder = JSON.stringify({ email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(65_000) })
    t.ok(justUnder.length <= 65_536)
    await expectError(
      t,
      app,
      'a body just under 64 KiB is validated, not refused',
      { method: 'POST', url: '/v1/users', headers: JSON_TYPE, payload: justUnder },
      400,
      'invalid_request',
    )
  })

  await t.test('unsupported content types are 415 unsupported_media_type', async (t) => {
    const types = [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'text/json',
      'application/jsonx',
      '*/*',
      'application/json, text/plain',
    ]
    for (const type of types) {
      await expectError(
        t,
        app,
        `${type} to /v1/users`,
        { method: 'POST', url: '/v1/users', headers: { 'content-type': type }, payload: '{}' },
        415,
        'unsupported_media_type',
      )
      await expectError(
        t,
        app,
        `${type} to /oauth/token`,
        {
          method: 'POST',
          url: '/oauth/token',
          headers: { 'content-type': type },
          payload: 'grant_type=password',
        },
        415,
        'unsupported_media_type',
      )
    }
    await expectError(
      t,
      app,
      'a form to the JSON-only /v1/users',
      { method: 'POST', url: '/v1/users', headers: FORM, payload: `email=a%40b.co&password=${PASSWORD}` },
      415,
      'unsupported_media_type',
    )
  })

  await t.test('malformed JSON and non-object bodies are 400 invalid_request', async (t) => {
    for (const payload of [
      '{"email":',
      '{email: 1}',
      "{'a':1}",
      '[1,2',
      '',
      'nul',
      '{"a":1}{"b":2}',
      '[]',
      'null',
      '"x"',
      '42',
      '[{"grant_type":"password"}]',
    ])
      for (const url of ['/v1/users', '/oauth/token'])
        await expectError(
          t,
          app,
          `${JSON.stringify(payload)} to ${url}`,
          { method: 'POST', url, headers: JSON_TYPE, payload },
          400,
          'invalid_request',
        )
    await expectError(
      t,
      app,
      'deeply nested JSON',
      {
        method: 'POST',
        url: '/v1/users',
        headers: JSON_TYPE,
        payload: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      },
      400,
      'invalid_request',
    )
  })

  await t.test('wrong types and arrays where strings belong are 400 invalid_request', async (t) => {
    for (const value of [42, true, null, {}, { $ne: '' }, ['a@example.com'], [PASSWORD]]) {
      await expectError(
        t,
        app,
        `email ${JSON.stringify(value)}`,
        { method: 'POST', url: '/v1/users', payload: { email: value, password: PASSWORD } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `password ${JSON.stringify(value)}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: value } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `username ${JSON.stringify(value)}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'password', username: value, password: PASSWORD },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `refresh_token ${JSON.stringify(value)}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'refresh_token', refresh_token: value },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `revoke token ${JSON.stringify(value)}`,
        { method: 'POST', url: '/oauth/revoke', payload: { token: value } },
        400,
        'invalid_request',
      )
    }
    await expectError(
      t,
      app,
      'name as a number',
      { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: 7 } },
      400,
      'invalid_request',
    )
  })

  await t.test('repeated form keys are 400 invalid_request, never a guess at which one counts', async (t) => {
    const { user } = await login(app)
    for (const form of [
      'grant_type=password&grant_type=refresh_token',
      `grant_type=password&username=${encodeURIComponent(user.email)}&username=other%40example.com&password=${encodeURIComponent(PASSWORD)}`,
      `grant_type=password&username=${encodeURIComponent(user.email)}&password=wrong&password=${encodeURIComponent(PASSWORD)}`,
      'grant_type=refresh_token&refresh_token=a&refresh_token=b',
      `grant_type=password&username=${encodeURIComponent(user.email)}&password=${encodeURIComponent(PASSWORD)}&scope=profile%3Aread&scope=admin`,
    ])
      await expectError(
        t,
        app,
        form.slice(0, 50),
        { method: 'POST', url: '/oauth/token', headers: FORM, payload: form },
        400,
        'invalid_request',
      )
    await expectError(
      t,
      app,
      'repeated token on revoke',
      { method: 'POST', url: '/oauth/revoke', headers: FORM, payload: 'token=a&token=b' },
      400,
      'invalid_request',
    )
  })

  await t.test('an undecodable URL or unknown route answers in the error shape', async (t) => {
    await expectError(t, app, 'bad percent-encoding', { url: '/v1/%E0%A4%A' }, 400, 'invalid_request')
    await expectError(
      t,
      app,
      'bad percent-encoding, POST',
      { method: 'POST', url: '/oauth/%ZZtoken' },
      400,
      'invalid_request',
    )
    await expectError(t, app, 'unknown route', { url: '/v1/nope' }, 404, 'not_found')
    await expectError(t, app, 'wrong method', { method: 'DELETE', url: '/v1/users' }, 404, 'not_found')
  })
})
