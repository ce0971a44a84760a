import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { checkResponsesAgainstOpenApi, TEST_ENV } from '../helpers/app.js'
import { OpenApiValidator } from '../helpers/openapi-validator.js'

// The check every test app runs on every response (test/helpers/app.ts) must catch
// what a generated client would trip over.

const config = loadConfig(TEST_ENV)

async function documentAndApp() {
  const app = await buildApp(config)
  t.teardown(() => app.close())
  await app.ready()
  return { app, validator: new OpenApiValidator(app.swagger() as Record<string, unknown>) }
}

const user = {
  id: '0b6f4c7e-5a0d-4d1e-9a53-6b2f0e8a7c11',
  email: 'ada@example.com',
  name: null,
  scopes: ['profile:read'],
  created_at: '2025-01-01T12:00:00.000Z',
  email_verified: false,
}
const json = { 'content-type': 'application/json; charset=utf-8' }
const challenge = { ...json, 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="badge"' }

t.test('a response that matches its operation passes', async (t) => {
  const { validator } = await documentAndApp()
  const ok = { method: 'GET', path: '/v1/me', status: 200, headers: json, body: JSON.stringify(user) }
  t.same(validator.validate(ok), [])
})

t.test('an undocumented status, field, error code or required header fails', async (t) => {
  const { validator } = await documentAndApp()
  const me = { method: 'GET', path: '/v1/me' }
  t.same(validator.validate({ ...me, status: 418, headers: json, body: '{}' }), [
    'status 418 is not documented',
  ])
  t.match(
    validator.validate({
      ...me,
      status: 200,
      headers: json,
      body: JSON.stringify({ ...user, password_hash: 'x' }),
    }),
    [/must NOT have additional properties/],
  )
  t.match(
    validator.validate({
      ...me,
      status: 401,
      headers: challenge,
      body: JSON.stringify({ error: 'email_taken', error_description: 'Nope.' }),
    }),
    [/body\/error must be equal to one of the allowed values/],
  )
  t.same(
    validator.validate({
      ...me,
      status: 401,
      headers: json,
      body: JSON.stringify({ error: 'unauthorized', error_description: 'An access token is required.' }),
    }),
    ['header Cache-Control is required', 'header WWW-Authenticate is required'],
  )
  t.match(
    validator.validate({ method: 'POST', path: '/oauth/revoke', status: 200, headers: json, body: 'null' }),
    ['header Cache-Control is required', /body must be empty/],
  )
})

t.test('unknown routes must answer with the shared error body', async (t) => {
  const { validator } = await documentAndApp()
  const notFound = { method: 'GET', path: undefined, status: 404, headers: json }
  t.same(
    validator.validate({ ...notFound, body: '{"error":"not_found","error_description":"No route."}' }),
    [],
  )
  t.match(validator.validate({ ...notFound, body: '{"message":"Not Found"}' }), [/required property 'error'/])
})

t.test('test apps report responses that break the document as failures', async (t) => {
  const app = await buildApp(config)
  t.teardown(() => app.close())
  // Without a response schema the document lists only a 200; this route answers 202.
  app.get('/v1/undocumented', (_request, reply) => reply.code(202).send({}))
  const failures: Array<{ message: string; extra: unknown }> = []
  const recorder = { fail: (message: string, extra: unknown) => failures.push({ message, extra }) }
  checkResponsesAgainstOpenApi(recorder as unknown as typeof t, app)
  await app.inject({ url: '/v1/undocumented' })
  await app.inject({ url: '/health/live' })
  t.equal(failures.length, 1)
  t.match(failures[0], {
    message: 'GET /v1/undocumented → 202 does not match the OpenAPI document',
    extra: { problems: ['status 202 is not documented'] },
  })
})
