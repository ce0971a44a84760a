import { DPOP_ALGS } from './dpop/proof-key.js'

// RFC 6750 §3: the failures of a bearer-protected route and their WWW-Authenticate
// challenges. Part of the resource-server kit (badge-auth/verify), so it depends on nothing
// outside verify/; the server's error catalog (src/errors.ts) lists the same codes.

/** The codes a bearer check answers with. */
export type BearerErrorCode =
  | 'unauthorized'
  | 'invalid_token'
  | 'invalid_request'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'

/**
 * RFC 6750 §3: error_description in a challenge may hold only %x20-21 / %x23-5B /
 * %x5D-7E: no quote or backslash (which would end or corrupt the quoted-string), no
 * control or non-ASCII character.
 */
function challengeText(description: string): string {
  return description.replace(/["\\]/g, "'").replace(/[^\x20-\x7E]/g, '?')
}

/** RFC 6750 §3: failures of a bearer-protected route, with their WWW-Authenticate challenge. */
export class BearerError extends Error {
  override name = 'BearerError'
  readonly headers: Record<string, string>

  constructor(
    readonly statusCode: 400 | 401 | 403,
    readonly code: BearerErrorCode,
    readonly description: string,
    headers: Record<string, string> = {},
  ) {
    super(description)
    this.headers = headers
  }

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

  /**
   * RFC 9470 §3: the token's authentication is too weak (no second factor) or too old
   * (auth_time beyond `maxAge` seconds). `max_age` tells the client how fresh a login to
   * bring back.
   */
  static insufficientUserAuthentication(description: string, maxAge?: number): BearerError {
    const age = maxAge === undefined ? '' : `, max_age=${maxAge}`
    return new BearerError(401, 'insufficient_user_authentication', description, {
      'www-authenticate': `Bearer realm="badge", error="insufficient_user_authentication", error_description="${challengeText(description)}"${age}`,
    })
  }

  /**
   * This answer for a request authenticated with a DPoP-bound token (`cnf`): RFC 9449 §7.1
   * challenges it with the DPoP scheme, same error and parameters. Unbound tokens keep
   * the Bearer challenge.
   */
  forToken(claims: { cnf?: unknown }): BearerError {
    const challenge = this.headers['www-authenticate']
    if (claims.cnf === undefined || challenge === undefined) return this
    return new BearerError(this.statusCode, this.code, this.description, {
      ...this.headers,
      'www-authenticate': challenge.replace(/^Bearer realm="badge"/, `DPoP algs="${DPOP_ALGS.join(' ')}"`),
    })
  }

  /**
   * RFC 9449 §7.1: a failure of a request using the DPoP scheme (or of a DPoP-bound token
   * sent as Bearer), with the DPoP challenge naming the accepted algorithms. `nonce` goes
   * in DPoP-Nonce (use_dpop_nonce, RFC 9449 §9).
   */
  static dpop(
    code: 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_request',
    description: string,
    algs: readonly string[],
    nonce?: string,
  ): BearerError {
    const headers: Record<string, string> = {
      'www-authenticate': `DPoP algs="${algs.join(' ')}", error="${code}", error_description="${challengeText(description)}"`,
    }
    if (nonce !== undefined) headers['dpop-nonce'] = nonce
    return new BearerError(code === 'invalid_request' ? 400 : 401, code, description, headers)
  }
}
