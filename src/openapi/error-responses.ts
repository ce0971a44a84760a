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

/**
 * docs/contract.md §10: the one error body with members beyond error and error_description:
 * mfa_required carries the mfa_token that continues the login and the methods that can.
 */
const MFA_REQUIRED_BODY = {
  type: 'object',
  required: ['error', 'error_description', 'mfa_token', 'mfa_methods'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', enum: ['mfa_required'] },
    error_description: { type: 'string', maxLength: 1000 },
    mfa_token: {
      type: 'string',
      maxLength: 64,
      pattern: '^[A-Za-z0-9_-]+$',
      description:
        'Send it with otp, recovery_code, or passkey_session and credential in the urn:badge:grant-type:mfa grant; 5 minutes, 5 attempts.',
    },
    mfa_methods: {
      type: 'array',
      maxItems: 3,
      uniqueItems: true,
      items: { type: 'string', enum: ['totp', 'recovery_code', 'passkey'] },
      description: 'The second factors that can finish this login.',
    },
  },
}

function errorSchema(codes: readonly ErrorCode[]) {
  const others = codes.filter((c) => c !== 'mfa_required')
  const plain = {
    allOf: [
      { $ref: '#/components/schemas/Error' },
      { type: 'object', required: ['error'], properties: { error: { type: 'string', enum: others } } },
    ],
  }
  return others.length === codes.length ? plain : { oneOf: [plain, MFA_REQUIRED_BODY] }
}

const exampleBody = (code: ErrorCode) =>
  code === 'mfa_required'
    ? {
        error: code,
        error_description: ERROR_CATALOG[code].example,
        mfa_token: 'Yk3fQ0t9pA2mV7sJ2fA5dR8uN3eG6kq8Pz3v4bT0c6X',
        mfa_methods: ['totp', 'recovery_code'],
      }
    : { error: code, error_description: ERROR_CATALOG[code].example }

export function errorResponse(status: number, codes: readonly ErrorCode[], op: OperationTraits) {
  return {
    description: `${STATUS_CODES[status]}. \`error\` is one of:\n${codes.map((c) => `- \`${c}\`: ${ERROR_CATALOG[c].meaning}`).join('\n')}`,
    headers: errorHeaders(status, codes, op),
    content: {
      'application/json': {
        schema: errorSchema(codes),
        examples: Object.fromEntries(
          codes.map((code) => [code, { summary: code, value: exampleBody(code) }]),
        ),
      },
    },
  }
}

/** The 500 every operation may answer; shared as components.responses.ServerError. */
export const serverErrorResponse = () =>
  errorResponse(500, ['server_error'], { bearer: false, limited: false })
