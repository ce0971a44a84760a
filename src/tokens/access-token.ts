import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { KeyStore } from '../keys/key-store.js'
import type { AccessTokenClaims } from '../verify/verifier.js'

// RFC 9068 access tokens: header { alg, typ: "at+jwt", kid }, and only the claims
// docs/contract.md §2 lists, so tokens stay small and say nothing more about the user.

export interface AccessTokenIssuerOptions {
  keys: KeyStore
  clock: Clock
  issuer: string
  audience: string
  ttl: number
}

export interface IssueInput {
  sub: string
  scope: string
  clientId: string
  sid?: string
  /** RFC 8176 methods and the time (epoch seconds) of the user's login: user tokens only. */
  amr?: readonly string[]
  authTime?: number
  /** RFC 9449 §6.1: bind the token to the DPoP key with this thumbprint (cnf.jkt). */
  jkt?: string
}

export function createAccessTokenIssuer({ keys, clock, issuer, audience, ttl }: AccessTokenIssuerOptions) {
  return function issueAccessToken(input: IssueInput): {
    token: string
    expiresIn: number
    claims: AccessTokenClaims
  } {
    const key = keys.signingKey()
    const iat = Math.floor(clock() / 1000)
    const claims: AccessTokenClaims = {
      iss: issuer,
      sub: input.sub,
      aud: audience,
      exp: iat + ttl,
      iat,
      jti: randomUUID(),
      scope: input.scope,
      client_id: input.clientId,
      ...(input.sid ? { sid: input.sid } : {}),
      ...(input.amr ? { amr: [...input.amr] } : {}),
      ...(input.authTime !== undefined ? { auth_time: input.authTime } : {}),
      ...(input.jkt !== undefined ? { cnf: { jkt: input.jkt } } : {}),
    }
    return { token: key.sign({ ...claims }), expiresIn: ttl, claims }
  }
}

export type IssueAccessToken = ReturnType<typeof createAccessTokenIssuer>
