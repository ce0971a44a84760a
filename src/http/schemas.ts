import { z } from 'zod'
import { ERROR_CATALOG, ERROR_CODES, type ErrorCode } from '../errors.js'
import { SCOPE_STRING, SCOPE_TOKEN } from '../scopes.js'

// Schemas shared by several routes. Those registered with an id become one component
// of the OpenAPI document, referenced wherever they are used. Response schemas carry
// real bounds (maxLength, maxItems): they are validated when serialized, documented,
// and checked again by the test suite against the generated document.

/** RFC 6749 §3.3 scope-token. */
export const scopeTokenSchema = z.string().max(200).regex(SCOPE_TOKEN)
/** At most 100: config.ts refuses a longer SCOPES list, so no holder can exceed it. */
export const scopeListSchema = z.array(scopeTokenSchema).max(100)
/** A space-separated list of scope tokens (RFC 6749 §3.3), empty when none are held. */
export const scopeStringSchema = z.string().max(8192).regex(SCOPE_STRING)

export const userSchema = z
  .object({
    id: z.uuid().max(36),
    email: z.string().max(254).meta({ format: 'email' }),
    name: z.string().max(200).nullable().describe('Display name, or null when not set.'),
    scopes: scopeListSchema.describe('The scopes this user holds and may request.'),
    created_at: z.iso.datetime().max(32),
    email_verified: z.boolean().describe('Whether the user proved they own this email by a mailed link.'),
  })
  .meta({
    id: 'User',
    examples: [
      {
        id: '0b6f4c7e-5a0d-4d1e-9a53-6b2f0e8a7c11',
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        scopes: ['profile:read', 'profile:write'],
        created_at: '2025-01-01T12:00:00.000Z',
        email_verified: true,
      },
    ],
  })

export const adminUserSchema = userSchema
  .extend({ disabled: z.boolean().describe('Disabled users cannot log in or refresh.') })
  .meta({ id: 'AdminUser' })

export const passwordSchema = z
  .string()
  // Counted in the stored form (passwords are NFC-normalized before hashing, users/passwords.ts).
  .refine((s) => [...s.normalize('NFC')].length >= 8, 'must be at least 8 characters')
  .refine((s) => s.length <= 1024, 'must be at most 1024 characters')
  .meta({ minLength: 8, maxLength: 1024, format: 'password' })
  .describe('At least 8 characters. Never truncated: every byte counts.')

export const emailSchema = z
  .string()
  .max(320)
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.email({ error: 'must be an email address' }).max(254))
  .meta({ format: 'email' })
  .describe('Trimmed and lower-cased before use.')

export const nameSchema = z.string().max(200).nullable().describe('Display name.')

// ---------------------------------------------------------------------------------
// Errors (docs/contract.md §5). Every error body is {error, error_description}. The `Error`
// component documents every code; each operation narrows `error` to the codes it can
// really return, declared in one place per route with errorResponses().

export const errorSchema = z
  .object({
    error: z
      .enum(ERROR_CODES)
      .describe(
        `Stable snake_case error code:\n${ERROR_CODES.map((c) => `- \`${c}\`: ${ERROR_CATALOG[c].meaning}`).join('\n')}`,
      ),
    error_description: z
      .string()
      .max(1000)
      .describe('A sentence for people; never contains secrets, stack traces or internals.'),
  })
  .meta({
    id: 'Error',
    examples: [{ error: 'invalid_request', error_description: ERROR_CATALOG.invalid_request.example }],
  })

/** The JSON Schema keyword that carries an error response's codes to the OpenAPI finisher. */
export const ERROR_CODES_KEYWORD = 'x-badge-error-codes'

/** The error statuses Badge answers with, and the codes a bare status stands for. */
export const STANDARD_ERROR_CODES = {
  400: ['invalid_request'],
  // RFC 9449 §7.1: the DPoP scheme's failures on protected routes.
  401: ['unauthorized', 'invalid_token', 'invalid_dpop_proof', 'use_dpop_nonce'],
  403: ['insufficient_scope'],
  404: ['not_found'],
  413: ['payload_too_large'],
  415: ['unsupported_media_type'],
  429: ['too_many_requests'],
  503: ['temporarily_unavailable'],
} as const satisfies Record<number, readonly ErrorCode[]>

export type ErrorStatus = keyof typeof STANDARD_ERROR_CODES
type CatalogStatus = (typeof ERROR_CATALOG)[ErrorCode]['status']
type AlsoStatus<C extends ErrorCode> = (typeof ERROR_CATALOG)[C] extends { alsoStatus: infer A } ? A : never
type CodesWithStatus<S> = {
  [C in ErrorCode]: (typeof ERROR_CATALOG)[C]['status'] extends S
    ? C
    : [AlsoStatus<C>] extends [never]
      ? never
      : AlsoStatus<C> extends S
        ? C
        : never
}[ErrorCode]
/** Codes listed under a status must have that status in the catalog (checked when compiling). */
export type ErrorCodesByStatus = { readonly [S in CatalogStatus]?: readonly CodesWithStatus<S>[] }

// Serialization stays lenient (any string): an undeclared code must never turn a
// clear 4xx into a 500 in production. The declared codes go into the document, and
// the test suite fails any response whose code is not among them.
// mfa_required alone carries more (docs/contract.md §10); the document's schema for it is
// written by openapi/error-responses.ts.
const errorBody = (codes: readonly ErrorCode[]) =>
  (codes.includes('mfa_required')
    ? z.object({
        error: z.string(),
        error_description: z.string(),
        mfa_token: z.string().optional(),
        mfa_methods: z.array(z.string()).optional(),
      })
    : z.object({ error: z.string(), error_description: z.string() })
  ).meta({ [ERROR_CODES_KEYWORD]: codes })

/**
 * The error responses of one route. A bare status means its standard codes (the bearer
 * checks' codes for 400/401/403); an object lists the codes explicitly:
 *
 *   ...errorResponses({ 400: ['invalid_request', 'invalid_grant'], 401: ['invalid_client'] }, 413, 415, 503)
 *
 * Every route also gets a 500 `server_error` in the document without declaring it.
 */
export function errorResponses(...specs: Array<ErrorStatus | ErrorCodesByStatus>) {
  const byStatus = new Map<number, Set<ErrorCode>>()
  for (const spec of specs) {
    const entries: Array<[string | number, readonly ErrorCode[] | undefined]> =
      typeof spec === 'number' ? [[spec, STANDARD_ERROR_CODES[spec]]] : Object.entries(spec)
    for (const [status, codes] of entries) {
      if (!codes || codes.length === 0) throw new Error(`errorResponses: status ${status} lists no codes`)
      const set = byStatus.get(Number(status)) ?? new Set()
      for (const code of codes) set.add(code)
      byStatus.set(Number(status), set)
    }
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => [status, errorBody([...codes])]),
  ) as Record<number, ReturnType<typeof errorBody>>
}
