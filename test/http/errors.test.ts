import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'

// docs/contract.md §5: every error is JSON {error, error_description}; no stack, SQL or paths.

function assertErrorShape(t: Test, body: string, error: string) {
  const parsed = JSON.parse(body)
  t.same(Object.keys(parsed).sort(), ['error', 'error_description'])
  t.equal(parsed.error, error)
  t.notMatch(body, /at [\w.]+ \(|node_modules|\/src\/|SELECT|INSERT|FST_|FAST_JWT/)
}

t.test('error responses', async (t) => {
  const { app } = await buildTestApp(t)

  await t.test('an unknown route is a JSON 404 not_found', async (t) => {
    const res = await app.inject({ url: '/nope?secret=1' })
    t.equal(res.statusCode, 404)
    t.match(res.headers['content-type'], /application\/json/)
    assertErrorShape(t, res.body, 'not_found')
    t.notMatch(res.body, /secret/)
  })

  await t.test('a body over 64 KiB is 413 payload_too_large', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email: uniqueEmail(), password: PASSWORD, name: 'x'.repeat(70_000) },
    })
    t.equal(res.statusCode, 413)
    assertErrorShape(t, res.body, 'payload_too_large')
  })

  await t.test('an unsupported content type is 415 unsupported_media_type', async (t) => {
    for (const [url, type] of [
      ['/v1/users', 'text/plain'],
      ['/v1/users', 'application/x-www-form-urlencoded'],
      ['/oauth/token', 'application/xml'],
      ['/oauth/token', 'multipart/form-data; boundary=x'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload: 'a=b' })
      t.equal(res.statusCode, 415, `${type} on ${url}`)
      assertErrorShape(t, res.body, 'unsupported_media_type')
    }
  })

  await t.test('malformed JSON is 400 invalid_request', async (t) => {
    for (const payload of ['{"email":', '[', 'null', '"str"', '{"email": "a@example.com", }']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      t.equal(res.statusCode, 400, payload)
      assertErrorShape(t, res.body, 'invalid_request')
    }
  })

  await t.test('responses carry helmet headers and no x-powered-by', async (t) => {
    const res = await app.inject({ url: '/health/live' })
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.notOk(res.headers['x-powered-by'])
  })
})
