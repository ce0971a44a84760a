import { randomBytes } from 'node:crypto'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import {
  accessTokenClaims,
  accessTokenHeader,
  b64url,
  decode,
  encodeJson,
  serverKey,
} from '../helpers/forge.js'

// Tokens that are not well-formed JWS compact serializations at all. Each must be a
// plain 401 invalid_token: no parser exception may surface as a 500.

const rand = (n: number) => randomBytes(n).toString('base64url')

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const real = decode(tokens.access_token)
  const [h, p, s] = real.segments as [string, string, string]
  await expectAccepted(t, app, tokens.access_token)

  await t.test('segments that are not base64url are 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, `${h.slice(0, 8)}+/+/${h.slice(8)}.${p}.${s}`, 'header with + and /')
    await expectInvalidToken(t, app, `${h}.${p.slice(0, 8)}+/+/${p.slice(8)}.${s}`, 'payload with + and /')
    await expectInvalidToken(t, app, `${h}.${p}.${s.slice(0, 8)}~${s.slice(9)}`, 'signature with ~')
    await expectInvalidToken(t, app, '~~~~.~~~~.~~~~', 'tildes')
    await expectInvalidToken(t, app, `${h}=.${p}.${s}`, 'header with padding')
    await expectInvalidToken(
      t,
      app,
      `${Buffer.from(JSON.stringify(real.header)).toString('base64')}.${p}.${s}`,
      'base64 header',
    )
  })

  await t.test('segments that are not JSON are 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, `${b64url('hello')}.${p}.${s}`, 'header not JSON')
    await expectInvalidToken(t, app, `${b64url('{"alg":')}.${p}.${s}`, 'header truncated JSON')
    await expectInvalidToken(t, app, `${h}.${b64url('hello')}.${s}`, 'payload not JSON')
    await expectInvalidToken(t, app, `${h}.${b64url(randomBytes(64))}.${s}`, 'payload random bytes')
    await expectInvalidToken(t, app, `${b64url(randomBytes(32))}.${p}.${s}`, 'header random bytes')
  })

  await t.test('headers and payloads that are JSON but not objects are 401 invalid_token', async (t) => {
    for (const value of [[real.header], ['EdDSA'], 'EdDSA', null, 42, true]) {
      await expectInvalidToken(t, app, `${encodeJson(value)}.${p}.${s}`, `header ${JSON.stringify(value)}`)
      await expectInvalidToken(
        t,
        app,
        `${h}.${encodeJson(value)}.${s}`,
        `payload ${JSON.stringify(value).slice(0, 30)}`,
      )
    }
    await expectInvalidToken(t, app, `${h}.${encodeJson([real.payload])}.${s}`, 'payload [claims]')
  })

  await t.test('tokens with 1, 2, 4 or more parts, or empty parts, are 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, h, 'header only')
    await expectInvalidToken(t, app, `${h}.${p}`, '2 parts')
    await expectInvalidToken(t, app, `${h}.${p}.${s}.${s}`, '4 parts')
    await expectInvalidToken(t, app, `${h}.${p}.${p}.${p}.${s}`, '5 parts')
    await expectInvalidToken(t, app, `${h}.${p}.${s}.`, 'trailing dot')
    await expectInvalidToken(t, app, `.${p}.${s}`, 'empty header')
    await expectInvalidToken(t, app, `${h}..${s}`, 'empty payload')
    for (const dots of ['.', '..', '...', '....'])
      await expectInvalidToken(t, app, dots, JSON.stringify(dots))
  })

  await t.test('a JWE (5-part compact encryption) is 401 invalid_token', async (t) => {
    const kid = real.header.kid
    const jwe = (header: object, encryptedKey: string) =>
      `${encodeJson(header)}.${encryptedKey}.${rand(12)}.${rand(200)}.${rand(16)}`
    await expectInvalidToken(
      t,
      app,
      jwe({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid }, rand(256)),
      'RSA-OAEP JWE',
    )
    await expectInvalidToken(t, app, jwe({ alg: 'dir', enc: 'A128CBC-HS256', kid }, ''), 'dir JWE')
    await expectInvalidToken(
      t,
      app,
      jwe({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', typ: 'at+jwt', kid }, ''),
      'nested JWT in a JWE',
    )
    await expectInvalidToken(t, app, jwe({ alg: 'EdDSA', typ: 'at+jwt', kid }, p), 'JWS header, 5 parts')
  })

  await t.test('tokens over 8 KiB are refused before parsing; a large valid one is accepted', async (t) => {
    const key = await serverKey(app)
    const sized = (bytes: number) => {
      const base = key.sign(accessTokenHeader(key), accessTokenClaims(app, { pad: '' }))
      const pad = 'x'.repeat(Math.max(0, Math.floor(((bytes - base.length) * 3) / 4)))
      return key.sign(accessTokenHeader(key), accessTokenClaims(app, { pad }))
    }
    const large = sized(8100)
    t.ok(large.length > 8000 && large.length <= 8192, `a ${large.length}-byte token`)
    await expectAccepted(t, app, large, `a ${large.length}-byte token signed by the real key`)
    for (const bytes of [9 * 1024, 12 * 1024]) {
      const token = sized(bytes)
      t.ok(token.length >= bytes - 4, `${token.length} bytes`)
      await expectInvalidToken(t, app, token, `${bytes}-byte token signed by the real key`)
    }
    await expectInvalidToken(t, app, `${h}.${p}${'A'.repeat(12 * 1024)}.${s}`, '12 KB of payload padding')
  })

  await t.test('a refresh token presented as a bearer token is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, tokens.refresh_token, 'refresh token')
  })

  await t.test('random junk is 401 invalid_token', async (t) => {
    for (const junk of [
      'x',
      'null',
      'undefined',
      'Bearer',
      '0',
      rand(40),
      `${rand(20)}.${rand(20)}.${rand(20)}`,
    ])
      await expectInvalidToken(t, app, junk, JSON.stringify(junk))
  })
})
