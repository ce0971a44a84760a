// When a presented refresh token may still be spent (docs/contract.md §4). Rotation
// and introspection both ask these functions, so introspection reports a refresh token
// active exactly when a refresh with it would succeed.

interface TokenState {
  rotated_at: number | null
  successor_enc: string | null
}

/**
 * A spent token presented again inside the reuse grace window, whose successor can be
 * handed out again (a retry after a lost response), rather than a reuse.
 */
export function isRetryWithinGrace(
  token: TokenState,
  now: number,
  graceMs: number,
): token is TokenState & { rotated_at: number; successor_enc: string } {
  return token.rotated_at !== null && now - token.rotated_at <= graceMs && token.successor_enc !== null
}

/** Unspent, or a retry inside the grace window. The session must be active as well. */
export function isRefreshTokenSpendable(token: TokenState, now: number, graceMs: number): boolean {
  return token.rotated_at === null || isRetryWithinGrace(token, now, graceMs)
}
