// Reusable parts of the OpenAPI document that no route schema can express: security
// schemes, the response headers Badge sends, and the 500 every operation may answer.

const DEFAULT_SCOPE_DESCRIPTIONS: Record<string, string> = {
  'profile:read': 'Read your own profile and sessions',
  'profile:write': 'Change your own profile and password, end your sessions',
  admin: 'Administer users, clients and signing keys',
}

export function securitySchemes(scopes: readonly string[]) {
  const scopeMap = Object.fromEntries(
    scopes.map((s) => [s, DEFAULT_SCOPE_DESCRIPTIONS[s] ?? 'A scope configured in SCOPES']),
  )
  return {
    bearerAuth: {
      type: 'http' as const,
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An access token from POST /oauth/token in `Authorization: Bearer <token>` (never the query string). ' +
        'Tokens are JWS following the RFC 9068 JWT access token profile (`typ: at+jwt`) and the JWT best ' +
        'current practices of RFC8725: the algorithm is fixed by the signing key, never taken from the token. ' +
        'Resource servers verify them offline with the keys at /.well-known/jwks.json.',
    },
    oauth2: {
      type: 'oauth2' as const,
      description:
        'OAuth 2.0 (RFC 6749) at /oauth/token. Access tokens are short-lived RFC 9068 JWTs issued following RFC8725; ' +
        'user sessions renew them with rotated refresh tokens. Server metadata: /.well-known/oauth-authorization-server.',
      flows: {
        password: { tokenUrl: '/oauth/token', refreshUrl: '/oauth/token', scopes: scopeMap },
        clientCredentials: { tokenUrl: '/oauth/token', scopes: scopeMap },
      },
    },
    clientBasic: {
      type: 'http' as const,
      scheme: 'basic',
      description:
        'A registered client authenticating with client_secret_basic (RFC 6749 §2.3.1): HTTP Basic with the ' +
        'form-encoded client_id and client_secret. client_secret_post (both in the body) works too. Use HTTPS.',
    },
  }
}

const integerHeader = (description: string, required: boolean, maximum: number) => ({
  description,
  required,
  schema: { type: 'integer', format: 'int32', minimum: 0, maximum },
})

export const HEADERS = {
  'Retry-After': integerHeader('Seconds to wait before retrying.', true, 86400),
  'Cache-Control-No-Store': {
    description: 'Error bodies and token responses must never be cached (RFC 6749 §5.1).',
    required: true,
    schema: { type: 'string', enum: ['no-store'] },
  },
  Pragma: {
    description: 'HTTP/1.0 caches: see Cache-Control.',
    required: false,
    schema: { type: 'string', enum: ['no-cache'] },
  },
  'WWW-Authenticate': {
    description:
      'The challenge: `Bearer realm="badge"` with `error`, `error_description` and `scope` as RFC 6750 §3 ' +
      'describes for access tokens, `DPoP algs="…"` with `error` and `error_description` (RFC 9449 §7.1) ' +
      'for requests using the DPoP scheme or a DPoP-bound token sent as Bearer, or `Basic realm="badge"` ' +
      'for client authentication.',
    required: true,
    schema: { type: 'string', maxLength: 2048, pattern: '^(Bearer|Basic|DPoP) ' },
  },
  'X-RateLimit-Limit': integerHeader(
    'Requests allowed per window on this rate-limited operation (sent when RATE_LIMIT_ENABLED=true).',
    false,
    1_000_000,
  ),
  'X-RateLimit-Remaining': integerHeader('Requests left in the current window.', false, 1_000_000),
  'X-RateLimit-Reset': integerHeader('Seconds until the current window resets.', false, 86400),
} as const

export type HeaderName = keyof typeof HEADERS

export const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` })
