import type { ErrorCode } from '../errors.js'

// What each error code means, for the OpenAPI document (the `Error` schema and the
// examples of every error response) and the README. A Record over ErrorCode, so a
// code added to the catalog in errors.ts cannot go undocumented.

export interface ErrorCodeDoc {
  /** When Badge answers with this code. */
  meaning: string
  /** A typical error_description, used as the example. */
  example: string
}

export const ERROR_CODE_DOCS: Record<ErrorCode, ErrorCodeDoc> = {
  invalid_request: {
    meaning: 'The request is malformed: a missing or invalid field, header or body.',
    example: 'body.password: must be at least 8 characters',
  },
  invalid_client: {
    meaning: 'Client authentication failed (RFC 6749 §5.2).',
    example: 'Client authentication failed.',
  },
  invalid_grant: {
    meaning: 'Wrong email or password, or an expired, spent or revoked refresh token (RFC 6749 §5.2).',
    example: 'The credentials or grant are invalid, expired or revoked.',
  },
  unauthorized_client: {
    meaning: 'This client may not use this grant type (RFC 6749 §5.2).',
    example: 'This client may not use the password grant.',
  },
  unsupported_grant_type: {
    meaning: 'The grant_type is not one Badge supports (RFC 6749 §5.2).',
    example: 'The grant type "implicit" is not supported.',
  },
  unsupported_token_type: {
    meaning: 'This kind of token cannot be revoked (RFC 7009 §2.2.1).',
    example: 'This token type cannot be revoked.',
  },
  invalid_scope: {
    meaning: 'A requested scope is unknown or not held (RFC 6749 §5.2).',
    example: 'The requested scope is not held or not known.',
  },
  unauthorized: {
    meaning: 'No access token was sent (RFC 6750 §3.1).',
    example: 'An access token is required.',
  },
  invalid_token: {
    meaning: 'The access token is expired, forged, malformed or not an access token (RFC 6750 §3.1).',
    example: 'The access token has expired.',
  },
  insufficient_scope: {
    meaning: 'The access token lacks the scope this route needs (RFC 6750 §3.1).',
    example: 'This request needs the scope "profile:read".',
  },
  forbidden: { meaning: 'The caller may not do this.', example: 'This action is not allowed.' },
  signup_disabled: {
    meaning: 'Sign-up is turned off on this server (SIGNUP_ENABLED=false).',
    example: 'Sign-up is disabled on this server.',
  },
  csrf_rejected: {
    meaning: 'A browser-mode request failed the cookie CSRF checks (Origin, X-Badge-CSRF).',
    example: 'The request failed the CSRF checks for the refresh-token cookie.',
  },
  not_found: { meaning: 'No such route or resource.', example: 'Not found.' },
  method_not_allowed: {
    meaning: 'The route exists but not for this method.',
    example: 'The request was refused.',
  },
  email_taken: {
    meaning: 'An account with this email already exists.',
    example: 'An account with this email already exists.',
  },
  conflict: {
    meaning: 'The request conflicts with the current state.',
    example: 'The request conflicts with the current state.',
  },
  payload_too_large: {
    meaning: 'The request body is over 64 KiB.',
    example: 'The request body is larger than 64 KiB.',
  },
  unsupported_media_type: {
    meaning: 'The Content-Type is not accepted here (JSON everywhere, also form-encoded on /oauth/*).',
    example: 'This content type is not supported here.',
  },
  too_many_requests: {
    meaning: 'A rate limit was hit; retry after the seconds in Retry-After.',
    example: 'Too many requests; retry after the time in Retry-After.',
  },
  temporarily_unavailable: {
    meaning: 'The database cannot be reached; retry after the seconds in Retry-After.',
    example: 'The database is unavailable; retry shortly.',
  },
  server_error: {
    meaning: 'An unexpected error; details are in the server log under the request id, never in the body.',
    example: 'An internal error occurred.',
  },
}

export const ERROR_CODES = Object.keys(ERROR_CODE_DOCS) as ErrorCode[]
