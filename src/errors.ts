import type { BearerErrorCode } from './verify/bearer-error.js'

// The error catalog (docs/contract.md §5): every error code a client can see, with its
// HTTP status, what it means and a typical description. The one table: the factories
// below take the status from it, the OpenAPI document (the `Error` schema and every
// error response's examples) and README's table are checked against it, and
// plugins/error-handler.ts is the only place that turns these errors into HTTP.
// Descriptions are written for people and never carry secrets or internals.

export interface ErrorCodeEntry {
  /** The HTTP status this code is always sent with. */
  status: number
  /** When Badge answers with this code. */
  meaning: string
  /** A typical error_description, used as the example. */
  example: string
  /** The other status the same code is sent with elsewhere (DPoP: 400 at the token endpoint, 401 on protected routes). */
  alsoStatus?: number
}

export const ERROR_CATALOG = {
  invalid_request: {
    status: 400,
    meaning: 'The request is malformed: a missing or invalid field, header or body.',
    example: 'body.password: must be at least 8 characters',
  },
  invalid_client: {
    status: 401,
    meaning: 'Client authentication failed (RFC 6749 §5.2).',
    example: 'Client authentication failed.',
  },
  invalid_grant: {
    status: 400,
    meaning: 'Wrong email or password, or an expired, spent or revoked refresh token (RFC 6749 §5.2).',
    example: 'The credentials or grant are invalid, expired or revoked.',
  },
  unsupported_grant_type: {
    status: 400,
    meaning: 'The grant_type is not one Badge supports (RFC 6749 §5.2).',
    example: 'The grant type "implicit" is not supported.',
  },
  invalid_scope: {
    status: 400,
    meaning: 'A requested scope is unknown or not held (RFC 6749 §5.2).',
    example: 'The requested scope is not held or not known.',
  },
  unauthorized: {
    status: 401,
    meaning: 'No access token was sent (RFC 6750 §3.1).',
    example: 'An access token is required.',
  },
  invalid_token: {
    status: 401,
    meaning: 'The access token is expired, forged, malformed or not an access token (RFC 6750 §3.1).',
    example: 'The access token has expired.',
  },
  insufficient_scope: {
    status: 403,
    meaning: 'The access token lacks the scope this route needs (RFC 6750 §3.1).',
    example: 'This request needs the scope "profile:read".',
  },
  signup_disabled: {
    status: 403,
    meaning: 'Sign-up is turned off on this server (SIGNUP_ENABLED=false).',
    example: 'Sign-up is disabled on this server.',
  },
  csrf_rejected: {
    status: 403,
    meaning: 'A browser-mode request failed the cookie CSRF checks (Origin, X-Badge-CSRF).',
    example: 'The request failed the CSRF checks for the refresh-token cookie.',
  },
  invalid_link: {
    status: 400,
    meaning: 'The emailed link is used, expired, unknown or superseded (docs/contract.md §9).',
    example: 'This link is invalid or has expired; ask for a new one.',
  },
  email_not_verified: {
    status: 400,
    meaning: 'EMAIL_VERIFICATION=required and the password was right, but the email is not verified yet.',
    example: 'Verify your email address before signing in.',
  },
  not_found: { status: 404, meaning: 'No such route or resource.', example: 'Not found.' },
  method_not_allowed: {
    status: 405,
    meaning: 'The route exists but not for this method.',
    example: 'The request was refused.',
  },
  email_taken: {
    status: 409,
    meaning: 'An account with this email already exists.',
    example: 'An account with this email already exists.',
  },
  conflict: {
    status: 409,
    meaning:
      'The change would break an invariant: the last active admin dropping admin, or a key rotation while 20 keys are published.',
    example: 'This is the last active admin: keep the admin scope.',
  },
  payload_too_large: {
    status: 413,
    meaning: 'The request body is over 64 KiB.',
    example: 'The request body is larger than 64 KiB.',
  },
  unsupported_media_type: {
    status: 415,
    meaning: 'The Content-Type is not accepted here (JSON everywhere, also form-encoded on /oauth/*).',
    example: 'This content type is not supported here.',
  },
  too_many_requests: {
    status: 429,
    meaning: 'A rate limit was hit; retry after the seconds in Retry-After.',
    example: 'Too many requests; retry after the time in Retry-After.',
  },
  temporarily_unavailable: {
    status: 503,
    meaning: 'The database cannot be reached; retry after the seconds in Retry-After.',
    example: 'The database is unavailable; retry shortly.',
  },
  mfa_required: {
    status: 400,
    meaning:
      'The password was right and the user has a second factor: finish with the urn:badge:grant-type:mfa grant and the mfa_token in this body.',
    example: 'A second factor is required: send a code with the mfa_token.',
  },
  insufficient_user_authentication: {
    status: 401,
    meaning:
      'The access token comes from a login too weak or too old for this route: log in again with a second factor (RFC 9470).',
    example: 'This request needs a login with a second factor.',
  },
  invalid_dpop_proof: {
    status: 400,
    alsoStatus: 401,
    meaning:
      'The DPoP proof (RFC 9449) is missing, malformed, replayed, too old, for another method or URI, or by another key than the token or session is bound to. 400 at the token endpoint; 401 with a DPoP challenge on protected routes.',
    example: 'The DPoP proof was already used.',
  },
  use_dpop_nonce: {
    status: 400,
    alsoStatus: 401,
    meaning:
      'DPOP_NONCE=true: retry with the nonce in the DPoP-Nonce header in the proof (RFC 9449 §8). 400 at the token endpoint; 401 on protected routes.',
    example: 'Authorization server requires nonce in DPoP proof.',
  },
  server_error: {
    status: 500,
    meaning: 'An unexpected error; details are in the server log under the request id, never in the body.',
    example: 'An internal error occurred.',
  },
} as const satisfies Record<string, ErrorCodeEntry>

export type ErrorCode = keyof typeof ERROR_CATALOG

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[]

// The bearer checks in verify/ (the resource-server kit) answer on their own; their
// codes must be catalog codes too.
const _bearerCodesAreCatalogued: Record<BearerErrorCode, ErrorCode> = {
  unauthorized: 'unauthorized',
  invalid_token: 'invalid_token',
  invalid_request: 'invalid_request',
  insufficient_scope: 'insufficient_scope',
  insufficient_user_authentication: 'insufficient_user_authentication',
  invalid_dpop_proof: 'invalid_dpop_proof',
  use_dpop_nonce: 'use_dpop_nonce',
}
void _bearerCodesAreCatalogued

export class BadgeError extends Error {
  override name = 'BadgeError'
  readonly statusCode: number
  readonly headers: Record<string, string>
  /** Members the body carries beside error and error_description (mfa_required only). */
  readonly body?: Record<string, unknown>

  constructor(
    readonly code: ErrorCode,
    readonly description: string,
    headers: Record<string, string> = {},
    body?: Record<string, unknown>,
  ) {
    super(description)
    this.statusCode = ERROR_CATALOG[code].status
    this.headers = headers
    if (body) this.body = body
  }
}

/** Errors of RFC 6749 §5.2 (token endpoint) and RFC 7009/7662, plus the API's own 4xx. */
export class OAuthError extends BadgeError {
  override name = 'OAuthError'
}

/** The database (or another dependency) cannot answer right now; clients may retry. */
export class UnavailableError extends BadgeError {
  override name = 'UnavailableError'

  constructor(description = 'The service is temporarily unavailable; retry shortly.', retryAfter = 5) {
    super('temporarily_unavailable', description, { 'retry-after': String(retryAfter) })
  }
}

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description)

export const invalidGrant = (description = 'The credentials or grant are invalid, expired or revoked.') =>
  new OAuthError('invalid_grant', description)

export const invalidScope = (description = 'The requested scope is not held or not known.') =>
  new OAuthError('invalid_scope', description)

export const unsupportedGrantType = (description: string) =>
  new OAuthError('unsupported_grant_type', description)

export const notFound = (description = 'Not found.') => new BadgeError('not_found', description)

export const signupDisabled = () => new BadgeError('signup_disabled', 'Sign-up is disabled on this server.')

export const conflict = (description: string) => new BadgeError('conflict', description)

export const emailTaken = () => new BadgeError('email_taken', 'An account with this email already exists.')

export const csrfRejected = (description: string) => new BadgeError('csrf_rejected', description)

/**
 * RFC 6749 §5.2: client authentication failed. Always 401 with a Basic challenge: a 401
 * must carry WWW-Authenticate (RFC 9110 §15.5.2), and Basic is the scheme clients may retry with.
 */
export const invalidClient = (description = 'Client authentication failed.') =>
  new OAuthError('invalid_client', description, { 'www-authenticate': 'Basic realm="badge"' })

/** docs/contract.md §5, §7: 429 with Retry-After (seconds, at least 1). */
export const tooManyRequests = (retryAfterSeconds: number, description: string) =>
  new BadgeError('too_many_requests', description, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })

/**
 * docs/contract.md §10: the password was right, a second factor is still needed. The body
 * carries the mfa_token that continues this login and the methods that can finish it.
 */
export const mfaRequired = (mfaToken: string, mfaMethods: readonly string[]) =>
  new OAuthError(
    'mfa_required',
    'A second factor is required: send a code with the mfa_token.',
    {},
    { mfa_token: mfaToken, mfa_methods: [...mfaMethods] },
  )
/** docs/contract.md §9: a mailed link that cannot be used (one answer for every reason). */
export const invalidLink = () =>
  new OAuthError('invalid_link', 'This link is invalid or has expired; ask for a new one.')

/** docs/contract.md §9: only after a correct password, so it reveals nothing to a guesser. */
export const emailNotVerified = () =>
  new OAuthError('email_not_verified', 'Verify your email address before signing in.')

/** RFC 9449 §5: the token endpoint refuses a DPoP proof (400, as RFC 6749 §5.2 errors are). */
export const invalidDpopProof = (description: string) => new OAuthError('invalid_dpop_proof', description)

/** RFC 9449 §8: retry with the nonce in DPoP-Nonce. */
export const useDpopNonce = (nonce: string) =>
  new OAuthError('use_dpop_nonce', 'Authorization server requires nonce in DPoP proof.', {
    'dpop-nonce': nonce,
  })
