// The error catalog (CONTRACT §5). Every error a client can see is a value of one
// of these classes; plugins/error-handler.ts is the only place that turns them into
// HTTP. Descriptions are written for people and never carry secrets or internals.

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'unauthorized'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'forbidden'
  | 'signup_disabled'
  | 'csrf_rejected'
  | 'not_found'
  | 'method_not_allowed'
  | 'email_taken'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error'

export class BadgeError extends Error {
  override name = 'BadgeError'
  readonly headers: Record<string, string>

  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    readonly description: string,
    headers: Record<string, string> = {},
  ) {
    super(description)
    this.headers = headers
  }
}

/** Errors of RFC 6749 §5.2 (token endpoint) and RFC 7009/7662, plus the API's own 4xx. */
export class OAuthError extends BadgeError {
  override name = 'OAuthError'
}

/**
 * RFC 6750 §3: error_description in a challenge may hold only %x20-21 / %x23-5B /
 * %x5D-7E: no quote or backslash (which would end or corrupt the quoted-string), no
 * control or non-ASCII character.
 */
function challengeText(description: string): string {
  return description.replace(/["\\]/g, "'").replace(/[^\x20-\x7E]/g, '?')
}

/** RFC 6750 §3: failures of a bearer-protected route, with their WWW-Authenticate challenge. */
export class BearerError extends BadgeError {
  override name = 'BearerError'

  static missing(): BearerError {
    return new BearerError(401, 'unauthorized', 'An access token is required.', {
      'www-authenticate': 'Bearer realm="badge"',
    })
  }

  static invalid(description: string): BearerError {
    return new BearerError(401, 'invalid_token', description, {
      'www-authenticate': `Bearer realm="badge", error="invalid_token", error_description="${challengeText(description)}"`,
    })
  }

  static malformed(description: string): BearerError {
    return new BearerError(400, 'invalid_request', description, {
      'www-authenticate': `Bearer realm="badge", error="invalid_request", error_description="${challengeText(description)}"`,
    })
  }

  static insufficientScope(scopes: readonly string[]): BearerError {
    const scope = scopes.join(' ')
    return new BearerError(403, 'insufficient_scope', `This request needs the scope "${scope}".`, {
      'www-authenticate': `Bearer realm="badge", error="insufficient_scope", scope="${scope}"`,
    })
  }
}

/** The database (or another dependency) cannot answer right now; clients may retry. */
export class UnavailableError extends BadgeError {
  override name = 'UnavailableError'

  constructor(description = 'The service is temporarily unavailable; retry shortly.', retryAfter = 5) {
    super(503, 'temporarily_unavailable', description, { 'retry-after': String(retryAfter) })
  }
}

export const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description)

export const invalidGrant = (description = 'The credentials or grant are invalid, expired or revoked.') =>
  new OAuthError(400, 'invalid_grant', description)

export const invalidScope = (description = 'The requested scope is not held or not known.') =>
  new OAuthError(400, 'invalid_scope', description)

export const notFound = (description = 'Not found.') => new BadgeError(404, 'not_found', description)

/**
 * RFC 6749 §5.2: client authentication failed. Always 401 with a Basic challenge: a 401
 * must carry WWW-Authenticate (RFC 9110 §15.5.2), and Basic is the scheme clients may retry with.
 */
export const invalidClient = (description = 'Client authentication failed.') =>
  new OAuthError(401, 'invalid_client', description, { 'www-authenticate': 'Basic realm="badge"' })

/** CONTRACT §5, §7: 429 with Retry-After (seconds, at least 1). */
export const tooManyRequests = (retryAfterSeconds: number, description: string) =>
  new BadgeError(429, 'too_many_requests', description, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })
