import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

// Nothing secret reaches a log line: credentials in headers, cookies and bodies are
// redacted, and token-bearing query parameters are masked in logged URLs (a client
// that wrongly sends ?access_token=… must not leak it to the log pipeline).

const SENSITIVE_NAMES = new Set([
  'access_token',
  'refresh_token',
  'token',
  'password',
  'client_secret',
  'code',
  'id_token',
  // Second factors (docs/contract.md §10).
  'mfa_token',
  'otp',
  'recovery_code',
  'current_password',
  // Passkeys: a ceremony's handle, challenge and the authenticator's signed response.
  'passkey_session',
  'credential',
  'challenge',
])

/** A query parameter's name as a server would decode it (%5F is "_", + is a space). */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return name.toLowerCase()
  }
}

export function maskUrl(url: string): string {
  const query = url.indexOf('?')
  if (query === -1) return url
  const hash = url.indexOf('#', query)
  const end = hash === -1 ? url.length : hash
  const masked = url
    .slice(query + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      if (eq === -1 || !SENSITIVE_NAMES.has(decodedName(pair.slice(0, eq)))) return pair
      return `${pair.slice(0, eq)}=[Redacted]`
    })
    .join('&')
  return `${url.slice(0, query + 1)}${masked}${url.slice(end)}`
}

/**
 * `stream` replaces stdout, e.g. so tests can read every line written. At
 * LOG_LEVEL=silent nothing can ever be written, so there is no pino at all: Fastify's
 * null logger, whose child is itself, serves every request, with no child logger (its
 * reqId bindings serialized through the redaction paths) built per request
 * (docs/performance.md: "Request loggers").
 */
export function loggerOptions(level: string, stream?: DestinationStream): FastifyServerOptions['logger'] {
  if (level === 'silent') return false
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-badge-csrf"]',
        // A DPoP proof (RFC 9449) can be replayed to another instance within its lifetime.
        'req.headers.dpop',
        'res.headers["set-cookie"]',
        '*.password',
        '*.current_password',
        '*.new_password',
        '*.refresh_token',
        '*.access_token',
        '*.client_secret',
        '*.token',
        '*.mfa_token',
        '*.otp',
        '*.recovery_code',
        '*.passkey_session',
        '*.credential',
        '*.challenge',
        '*.secret',
        '*.code',
      ],
      censor: '[Redacted]',
    },
    serializers: {
      req(request) {
        return {
          method: request.method,
          url: maskUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
        }
      },
    },
  }
}
