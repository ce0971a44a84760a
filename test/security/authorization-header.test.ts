import { connect } from 'node:net'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { assertErrorShape, injectWithin } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'

// How the credential is carried (RFC 6750 §2.1, docs/contract.md §5): one Authorization
// header, scheme Bearer (any case), exactly one token. A malformed header is 400
// invalid_request with its challenge; no credential is 401 with a bare challenge.

/** Sends raw HTTP/1.1 bytes and returns the raw response. */
async function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    let response = ''
    socket.on('data', (chunk) => {
      response += chunk.toString()
    })
    socket.on('end', () => resolve(response))
    socket.on('error', reject)
  })
}

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const token = tokens.access_token
  const get = (headers: Record<string, string | string[]>, url = '/v1/me/claims') =>
    injectWithin(app, { url, headers })

  await t.test('the scheme is case-insensitive: bearer and BEARER work', async (t) => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
      t.equal((await get({ authorization: `${scheme} ${token}` })).statusCode, 200, scheme)
  })

  await t.test('"Bearer" with no token is 400 invalid_request with the challenge', async (t) => {
    for (const header of ['Bearer', 'Bearer ', 'Bearer    ', 'bearer']) {
      const res = await get({ authorization: header })
      t.equal(res.statusCode, 400, JSON.stringify(header))
      t.match(
        res.headers['www-authenticate'],
        /^Bearer realm="badge", error="invalid_request", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]+"$/,
      )
      assertErrorShape(t, res, 'invalid_request', JSON.stringify(header))
    }
  })

  await t.test('extra parts after the token are 400 invalid_request', async (t) => {
    for (const header of [
      `Bearer ${token} extra`,
      `Bearer ${token} ${token}`,
      `Bearer a b`,
      `Bearer ${token}, Bearer ${token}`,
    ]) {
      const res = await get({ authorization: header })
      t.equal(res.statusCode, 400, header.slice(0, 40))
      t.match(res.headers['www-authenticate'], /error="invalid_request"/)
      assertErrorShape(t, res, 'invalid_request', header.slice(0, 40))
    }
  })

  await t.test('two Authorization headers are 400 invalid_request, even if both are valid', async (t) => {
    for (const headers of [
      [`Bearer ${token}`, `Bearer ${token}`],
      [`Bearer ${token}`, 'Bearer forged.token.here'],
      ['Bearer forged.token.here', `Bearer ${token}`],
      [`Basic dXNlcjpwYXNz`, `Bearer ${token}`],
    ]) {
      const res = await get({ authorization: headers })
      t.equal(res.statusCode, 400)
      t.match(res.headers['www-authenticate'], /error="invalid_request"/)
      assertErrorShape(t, res, 'invalid_request', 'two headers')
    }
  })

  await t.test('two Authorization headers on the wire are refused by a listening server', async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as { port: number }).port
    const response = await rawRequest(
      port,
      `GET /v1/me/claims HTTP/1.1\r\nHost: badge.test\r\nAuthorization: Bearer ${token}\r\n` +
        `authorization: Bearer forged.token.here\r\nConnection: close\r\n\r\n`,
    )
    t.match(response, /^HTTP\/1\.1 400 /)
    t.match(response, /"error":"invalid_request"/)
    const single = await rawRequest(
      port,
      `GET /v1/me/claims HTTP/1.1\r\nHost: badge.test\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    )
    t.match(single, /^HTTP\/1\.1 200 /, 'control: one header works')
  })

  await t.test('another scheme (Basic, Digest, a bare token) is 401 with the bare challenge', async (t) => {
    for (const header of [
      'Basic dXNlcjpwYXNz',
      `Digest username="a"`,
      token,
      `Token ${token}`,
      `Bearer:${token}`,
    ]) {
      const res = await get({ authorization: header })
      t.equal(res.statusCode, 401, header.slice(0, 30))
      t.equal(res.headers['www-authenticate'], 'Bearer realm="badge"')
      assertErrorShape(t, res, 'unauthorized', header.slice(0, 30))
    }
  })

  await t.test('a token in the query string or a cookie is ignored: 401 unauthorized', async (t) => {
    for (const url of [`/v1/me/claims?access_token=${token}`, `/v1/me?access_token=${token}`]) {
      const res = await injectWithin(app, { url })
      t.equal(res.statusCode, 401, url.slice(0, 20))
      t.equal(res.headers['www-authenticate'], 'Bearer realm="badge"')
      assertErrorShape(t, res, 'unauthorized', 'query string')
    }
    const res = await get({ cookie: `access_token=${token}` })
    t.equal(res.statusCode, 401)
    assertErrorShape(t, res, 'unauthorized', 'cookie')
  })
})
