import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { SERVER_TIMEOUTS, type ServerTimeouts } from '../../src/http/server-options.js'
import { TEST_ENV } from '../helpers/app.js'
import { dialects, openTestDatabase } from '../helpers/databases.js'

// Socket-level defences of a listening server: slow clients are cut off, and what
// Node refuses before a request exists (malformed HTTP, huge headers) still gets the
// error shape. Real sockets against a server on port 0; nothing here touches data,
// so SQLite alone suffices.

async function listening(t: Test, timeouts: Partial<ServerTimeouts> = {}) {
  const database = await openTestDatabase(t, dialects[0]!)
  const app = await buildApp(loadConfig({ ...TEST_ENV, DATABASE_URL: database.url }), { database, timeouts })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as { port: number }).port }
}

/** Writes `chunks` (with pauses given as numbers, in ms) and collects the response until the server closes. */
async function converse(port: number, chunks: Array<string | number>, giveUpMs = 5_000) {
  return new Promise<{ response: string; closedAfterMs: number }>((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let response = ''
    const giveUp = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the socket open for ${giveUpMs} ms`))
    }, giveUpMs)
    socket.on('data', (chunk) => {
      response += chunk.toString()
    })
    socket.on('close', () => {
      clearTimeout(giveUp)
      resolve({ response, closedAfterMs: Date.now() - started })
    })
    socket.on('error', () => {})
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (typeof chunk === 'number') await new Promise((r) => setTimeout(r, chunk))
        else if (!socket.destroyed) socket.write(chunk)
      }
    })
  })
}

const body = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))

await t.test('a built app carries the socket timeouts, whoever listens', async (t) => {
  const { app } = await listening(t)
  t.equal(app.server.headersTimeout, SERVER_TIMEOUTS.headersTimeout)
  t.equal(app.server.requestTimeout, SERVER_TIMEOUTS.requestTimeout)
  t.equal(app.server.keepAliveTimeout, SERVER_TIMEOUTS.keepAliveTimeout)
  t.equal(app.server.timeout, SERVER_TIMEOUTS.connectionTimeout)
  t.same(
    [SERVER_TIMEOUTS.headersTimeout, SERVER_TIMEOUTS.requestTimeout],
    [10_000, 30_000],
    'headers within 10 s, the whole request within 30 s',
  )
  t.ok(
    SERVER_TIMEOUTS.keepAliveTimeout > 60_000,
    'idle keep-alive outlives a 60 s load-balancer idle timeout',
  )
})

await t.test('a client that never finishes its headers is answered 408 and disconnected', async (t) => {
  const { port } = await listening(t, {
    headersTimeout: 300,
    requestTimeout: 600,
    connectionsCheckingInterval: 50,
  })
  const { response, closedAfterMs } = await converse(port, [
    'GET /health/live HTTP/1.1\r\nHost: badge.test\r\n',
    100,
    'X-Slow: 1\r\n',
  ])
  t.match(response, /^HTTP\/1\.1 408 /)
  t.same(body(response), {
    error: 'invalid_request',
    error_description: 'The request was not received in time.',
  })
  t.ok(closedAfterMs < 2_000, `closed after ${closedAfterMs} ms`)
})

await t.test('a client that trickles its body is cut off at the request timeout', async (t) => {
  const { port } = await listening(t, {
    headersTimeout: 300,
    requestTimeout: 600,
    connectionsCheckingInterval: 50,
  })
  const { response, closedAfterMs } = await converse(port, [
    'POST /v1/users HTTP/1.1\r\nHost: badge.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
  ])
  t.match(response, /^HTTP\/1\.1 408 /)
  t.ok(closedAfterMs < 2_000, `closed after ${closedAfterMs} ms`)
})

await t.test('malformed HTTP and oversized headers are answered in the error shape', async (t) => {
  const { port } = await listening(t)
  const garbage = await converse(port, ['NOT HTTP AT ALL\r\n\r\n'])
  t.match(garbage.response, /^HTTP\/1\.1 400 /)
  t.same(body(garbage.response), {
    error: 'invalid_request',
    error_description: 'The request is not valid HTTP.',
  })
  const huge = await converse(port, [
    `GET /health/live HTTP/1.1\r\nHost: badge.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  ])
  t.match(huge.response, /^HTTP\/1\.1 431 /)
  t.same(body(huge.response), {
    error: 'invalid_request',
    error_description: 'The request headers are too large.',
  })
})

await t.test('a chunked body over 64 KiB is 413 payload_too_large', async (t) => {
  const { port } = await listening(t)
  const chunk = 'a'.repeat(16 * 1024)
  const chunks = Array.from({ length: 5 }, () => `${(chunk.length).toString(16)}\r\n${chunk}\r\n`)
  const { response } = await converse(port, [
    'POST /v1/users HTTP/1.1\r\nHost: badge.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    ...chunks,
    '0\r\n\r\n',
  ])
  t.match(response, /^HTTP\/1\.1 413 /)
  t.equal(body(response).error, 'payload_too_large')
})
