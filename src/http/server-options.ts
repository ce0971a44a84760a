import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'

// Socket-level defences, set where the server is created so every instance (and
// every test that builds the app) carries them: slow or idle clients must not hold
// sockets forever, and errors Node raises before a request exists still answer in
// the contract's error shape.

/** Milliseconds. */
export interface ServerTimeouts {
  /** The request line and headers must arrive within this (slowloris). */
  headersTimeout: number
  /** The whole request, body included. */
  requestTimeout: number
  /** An idle keep-alive socket closes after this: above common load-balancer idle timeouts (60 s). */
  keepAliveTimeout: number
  /** A socket silent this long is closed, whatever state it is in. */
  connectionTimeout: number
  /** How often Node enforces headersTimeout and requestTimeout (its default, 30 s, lets a slowloris linger). */
  connectionsCheckingInterval: number
}

export const SERVER_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  connectionTimeout: 70_000,
  connectionsCheckingInterval: 1_000,
})

interface ConnectionError extends Error {
  code?: string
}

function describe(error: ConnectionError): [number, string] {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'The request was not received in time.']
  if (error.code === 'HPE_HEADER_OVERFLOW') return [431, 'The request headers are too large.']
  return [400, 'The request is not valid HTTP.']
}

/** Malformed HTTP, oversized headers and timeouts: answered in the error shape, then the socket closes. */
function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, description] = describe(error)
  // Only the code: the error object carries the raw bytes received (rawPacket),
  // which may hold an Authorization header or a password.
  this.log.debug({ code: error.code }, 'client error')
  if (socket.writable) {
    const body = JSON.stringify({ error: 'invalid_request', error_description: description })
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

/** The Fastify options that apply `timeouts` to the HTTP server it creates. */
export function serverOptions(timeouts: Readonly<ServerTimeouts>) {
  return {
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    http: {
      headersTimeout: timeouts.headersTimeout,
      requestTimeout: timeouts.requestTimeout,
      keepAliveTimeout: timeouts.keepAliveTimeout,
      connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
    },
    clientErrorHandler: clientErrorHandler as FastifyServerOptions['clientErrorHandler'],
  }
}
