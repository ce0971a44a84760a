import { STATUS_CODES } from 'node:http'
import { ERROR_CATALOG, type ErrorCode } from '../errors.js'
import { HEADERS, headerRef } from './components.js'

// Turns a route's declared error codes (errorResponses() in src/http/schemas.ts) into
// a full OpenAPI response: the shared Error schema narrowed to those codes, one
// example per code, and the headers Badge sends with that status.

export interface OperationTraits {
  /** Protected by an access token (RFC 6750 challenges). */
  bearer: boolean
  /** Rate limited: declares a 429, so every response carries the X-RateLimit-* headers. */
  limited: boolean
}

export const rateLimitHeaders = () => ({
  'X-RateLimit-Limit': headerRef('X-RateLimit-Limit'),
  'X-RateLimit-Remaining': headerRef('X-RateLimit-Remaining'),
  'X-RateLimit-Reset': headerRef('X-RateLimit-Reset'),
})

function errorHeaders(status: number, codes: readonly ErrorCode[], op: OperationTraits) {
  const headers: Record<string, unknown> = { 'Cache-Control': headerRef('Cache-Control-No-Store') }
  if (status === 401) headers['WWW-Authenticate'] = headerRef('WWW-Authenticate')
  const challenged =
    (status === 403 && codes.includes('insufficient_scope')) ||
    (status === 400 && op.bearer && codes.includes('invalid_request'))
  if (challenged) {
    const always = status === 403 && codes.every((c) => c === 'insufficient_scope')
    headers['WWW-Authenticate'] = always
      ? headerRef('WWW-Authenticate')
      : {
          ...HEADERS['WWW-Authenticate'],
          required: false,
          description: `${HEADERS['WWW-Authenticate'].description} Sent with \`${status === 400 ? 'invalid_request' : 'insufficient_scope'}\` from the bearer check.`,
        }
  }
  if (status === 429 || status === 503) headers['Retry-After'] = headerRef('Retry-After')
  if (op.limited) Object.assign(headers, rateLimitHeaders())
  return headers
}

export function errorResponse(status: number, codes: readonly ErrorCode[], op: OperationTraits) {
  return {
    description: `${STATUS_CODES[status]}. \`error\` is one of:\n${codes.map((c) => `- \`${c}\`: ${ERROR_CATALOG[c].meaning}`).join('\n')}`,
    headers: errorHeaders(status, codes, op),
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/Error' },
            { type: 'object', required: ['error'], properties: { error: { type: 'string', enum: codes } } },
          ],
        },
        examples: Object.fromEntries(
          codes.map((code) => [
            code,
            { summary: code, value: { error: code, error_description: ERROR_CATALOG[code].example } },
          ]),
        ),
      },
    },
  }
}

/** The 500 every operation may answer; shared as components.responses.ServerError. */
export const serverErrorResponse = () =>
  errorResponse(500, ['server_error'], { bearer: false, limited: false })
