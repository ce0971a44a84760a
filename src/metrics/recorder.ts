// What the domain code reports to the metrics (docs/operations.md). Domain services take
// this narrow interface, never prom-client: with METRICS_PORT unset they get noMetrics,
// and the calls cost a no-op function call. Every label value is from a closed set
// (a grant type, an error code, a limit name), never a user id, email or URL.

export type GrantType = 'password' | 'refresh_token' | 'client_credentials' | 'passkey'

export interface MetricsRecorder {
  tokenIssued(grant: GrantType): void
  /** `reason` is the error code the failed password grant answered with. */
  loginFailed(reason: string): void
  refreshReuseDetected(): void
  /** `limit` is a rate limit's name: token, signup, revoke, introspect, login_account, login_address. */
  rateLimited(limit: string): void
}

export const noMetrics: MetricsRecorder = {
  tokenIssued() {},
  loginFailed() {},
  refreshReuseDetected() {},
  rateLimited() {},
}
