// Which failures mean "the database cannot answer now" (→ 503 temporarily_unavailable)
// rather than a bug (→ 500). Driver messages never reach a client either way.

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
])

// PostgreSQL SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention,
// e.g. shutdown, statement timeout 57014), plus 40001/40P01 retryable conflicts.
const PG_STATES = /^(08|53|57|40001|40P01)/

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true
    if (PG_STATES.test(code)) return true
    if (
      code === 'SQLITE_BUSY' ||
      code === 'SQLITE_LOCKED' ||
      code === 'SQLITE_IOERR' ||
      code === 'SQLITE_CANTOPEN'
    ) {
      return true
    }
  }
  const message = error.message
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end|driver has already been destroyed|The database connection is not open/i.test(
    message,
  )
}
