import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { ERROR_CODES } from '../../src/errors.js'
import { buildTestApp } from '../helpers/app.js'
import { OpenApiValidator } from '../helpers/openapi-validator.js'

// What a client generator needs from openapi.yaml, checked on the committed file (the
// drift test proves it is what the code generates). These hold for every route, so a
// route added later that forgets one fails here.

// biome-ignore lint/suspicious/noExplicitAny: walking a parsed YAML document; the assertions check its shape
type Json = Record<string, any>
const document = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Json
const METHODS = ['get', 'put', 'post', 'delete', 'patch']
const operations = Object.entries(document.paths as Json).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as Json })),
)
const name = ({ method, path }: { method: string; path: string }) => `${method.toUpperCase()} ${path}`
const resolve = (node: Json): Json =>
  node.$ref
    ? resolve(
        node.$ref
          .slice(2)
          .split('/')
          .reduce((n: Json, p: string) => n[p], document),
      )
    : node
/** The Error-schema branch of an error response (mfa_required adds a second, oneOf). */
const plainErrorSchema = (response: Json): Json => {
  const schema = resolve(response).content['application/json'].schema
  return schema.oneOf ? schema.oneOf[0] : schema
}
const errorCodes = (response: Json): string[] => {
  const schema = resolve(response).content['application/json'].schema
  const codes = plainErrorSchema(response).allOf[1].properties.error.enum
  return schema.oneOf ? [...codes, ...schema.oneOf[1].properties.error.enum] : codes
}
/** Routes that demand a login with a second factor (docs/contract.md §10) also answer RFC 9470's 401. */
// Routes that can answer RFC 9470's challenge: always (disabling TOTP), or once the user has a
// second factor (email change, self-deletion: docs/contract.md §9).
const STEP_UP = new Set(['DELETE /v1/me/mfa/totp', 'DELETE /v1/me', 'POST /v1/me/email'])

t.test(
  'every operation has a unique camelCase operationId, a summary, a description and declared tags',
  async (t) => {
    const ids = operations.map(({ op }) => op.operationId)
    t.same(new Set(ids).size, ids.length, 'operationIds are unique')
    const tags = new Set((document.tags as Json[]).map((tag) => tag.name))
    for (const o of operations) {
      t.match(o.op.operationId, /^[a-z][A-Za-z0-9]*$/, `${name(o)} operationId`)
      t.ok(o.op.summary, `${name(o)} has a summary`)
      t.ok(o.op.description, `${name(o)} has a description`)
      t.ok(
        o.op.tags?.length && o.op.tags.every((tag: string) => tags.has(tag)),
        `${name(o)} has declared tags`,
      )
    }
    for (const tag of document.tags as Json[]) t.ok(tag.description, `tag ${tag.name} is described`)
  },
)

t.test('each schema is one component, under its plain name', async (t) => {
  const names = Object.keys(document.components.schemas)
  t.same(
    names.filter((n) => n.endsWith('Input')),
    [],
  )
  for (const component of ['Error', 'User', 'TokenRequest', 'TokenResponse', 'RevocationRequest'])
    t.ok(names.includes(component), `${component} is a component`)
  const text = JSON.stringify(document.paths)
  t.ok(text.includes('"#/components/schemas/TokenResponse"') && text.includes('"#/components/schemas/User"'))
})

t.test(
  'every error response is the shared Error schema narrowed to known codes, with an example each',
  async (t) => {
    for (const o of operations) {
      t.same(
        o.op.responses['500'],
        { $ref: '#/components/responses/ServerError' },
        `${name(o)} documents 500`,
      )
      t.ok(
        errorCodes(o.op.responses['400']).includes('invalid_request'),
        `${name(o)} documents 400 invalid_request (malformed URL, ill-formed query string)`,
      )
      for (const [status, response] of Object.entries(o.op.responses as Json)) {
        if (Number(status) < 400) continue
        const media = resolve(response as Json).content['application/json']
        t.same(
          plainErrorSchema(response as Json).allOf[0],
          { $ref: '#/components/schemas/Error' },
          `${name(o)} ${status}`,
        )
        const codes = errorCodes(response as Json)
        t.ok(
          codes.length > 0 && codes.every((c) => ERROR_CODES.includes(c as never)),
          `${name(o)} ${status} codes`,
        )
        t.same(Object.keys(media.examples), codes, `${name(o)} ${status} has one example per code`)
      }
    }
  },
)

t.test('operations declare the errors their inputs and credentials can cause', async (t) => {
  for (const o of operations) {
    const responses = o.op.responses as Json
    if (o.op.requestBody) {
      for (const status of ['400', '413', '415'])
        t.ok(responses[status], `${name(o)} (has a body) documents ${status}`)
    }
    const bearer = (o.op.security as Json[]).find((r) => r.bearerAuth)
    if (!bearer) continue
    t.ok(
      errorCodes(responses['400']).includes('invalid_request'),
      `${name(o)}: malformed Authorization is 400`,
    )
    t.same(
      errorCodes(responses['401']),
      STEP_UP.has(name(o))
        ? [
            'unauthorized',
            'invalid_token',
            'invalid_dpop_proof',
            'use_dpop_nonce',
            'insufficient_user_authentication',
          ]
        : ['unauthorized', 'invalid_token', 'invalid_dpop_proof', 'use_dpop_nonce'],
      `${name(o)} 401`,
    )
    if (bearer.bearerAuth.length > 0) t.ok(errorCodes(responses['403']).includes('insufficient_scope'))
    t.same(
      (o.op.security as Json[]).find((r) => r.oauth2),
      { oauth2: bearer.bearerAuth },
      `${name(o)} offers the oauth2 scheme with the same scopes`,
    )
  }
})

t.test('/oauth/* bodies may be form-encoded or JSON, and their responses are never cached', async (t) => {
  for (const o of operations.filter(({ path }) => path.startsWith('/oauth/'))) {
    // POST /oauth/passkey/options takes no body at all.
    if (o.path !== '/oauth/passkey/options')
      t.same(Object.keys(o.op.requestBody.content), ['application/x-www-form-urlencoded', 'application/json'])
    t.same(o.op.responses['200'].headers['Cache-Control'], {
      $ref: '#/components/headers/Cache-Control-No-Store',
    })
  }
})

t.test(
  '429s carry Retry-After and every response of a rate-limited operation the X-RateLimit-* headers',
  async (t) => {
    const limited = operations.filter(({ op }) => op.responses['429'])
    t.same(
      limited.map(name).sort(),
      [
        'DELETE /v1/me',
        'DELETE /v1/me/mfa/totp',
        'POST /oauth/introspect',
        'POST /oauth/passkey/options',
        'POST /oauth/revoke',
        'POST /oauth/token',
        'POST /v1/email/verify',
        'POST /v1/me/email',
        'POST /v1/me/email/verification',
        'POST /v1/me/mfa/totp',
        'POST /v1/me/mfa/totp/confirm',
        'POST /v1/me/password',
        'POST /v1/password/forgot',
        'POST /v1/password/reset',
        'POST /v1/users',
        // Issue 16: the revocation feed counts against the introspection limit.
        'GET /v1/revocations',
      ].sort(),
    )
    // These 429s come from the failed-password (and code) throttle (users/password-check.ts,
    // mfa/service.ts), not from a per-route request limit: no X-RateLimit-* on their other answers.
    const throttledOnly = new Set([
      'POST /v1/me/password',
      'DELETE /v1/me',
      'POST /v1/me/mfa/totp',
      'POST /v1/me/mfa/totp/confirm',
      'DELETE /v1/me/mfa/totp',
    ])
    for (const o of limited) {
      t.ok(resolve(o.op.responses['429']).headers['Retry-After'], `${name(o)} 429 Retry-After`)
      if (throttledOnly.has(name(o))) continue
      for (const [status, response] of Object.entries(o.op.responses as Json)) {
        if (status === '500') continue
        t.ok((response as Json).headers['X-RateLimit-Limit'], `${name(o)} ${status} X-RateLimit-Limit`)
      }
    }
  },
)

t.test('every example is valid against the schema it illustrates', async (t) => {
  const validator = new OpenApiValidator(document)
  let checked = 0
  for (const o of operations) {
    for (const [type, media] of Object.entries((o.op.requestBody?.content ?? {}) as Json)) {
      for (const [key, example] of Object.entries((media.examples ?? {}) as Json)) {
        const schema = media.schema.$ref ? resolve(media.schema) : media.schema
        t.ok(validator.matches(schema, example.value), `${name(o)} ${type} example ${key}`)
        checked++
      }
    }
    for (const [status, response] of Object.entries(o.op.responses as Json)) {
      const media = resolve(response as Json).content?.['application/json']
      for (const [key, example] of Object.entries((media?.examples ?? {}) as Json)) {
        t.ok(validator.matches(media.schema, example.value), `${name(o)} ${status} example ${key}`)
        checked++
      }
    }
  }
  for (const [component, schema] of Object.entries(document.components.schemas as Json))
    for (const example of schema.examples ?? []) {
      t.ok(validator.matches(schema, example), `${component} example`)
      checked++
    }
  t.ok(checked > 30, `${checked} examples checked`)
})

t.test('/openapi.json serves the document, with the oauth2 scopes of this server', async (t) => {
  const { app } = await buildTestApp(t, { SCOPES: 'profile:read profile:write admin billing:read' })
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const served = res.json()
  t.same(served.paths, document.paths)
  t.same(Object.keys(served.components.securitySchemes.oauth2.flows.password.scopes), [
    'profile:read',
    'profile:write',
    'admin',
    'billing:read',
  ])
})

t.test('the README explains every error code', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const code of ERROR_CODES) t.match(readme, new RegExp(`\\| \\d{3} \\| \`${code}\` \\|`), code)
})

t.test('the document carries the package version, the one version Badge has', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  t.equal(document.info.version, pkg.version, 'openapi.yaml')
  const { app } = await buildTestApp(t)
  t.equal(
    (await app.inject({ url: '/openapi.json' })).json().info.version,
    pkg.version,
    '/openapi.json and /docs',
  )
})
