// Which failures mean "the database cannot answer now" (→ 503 temporarily_unavailable)
// rather than a bug (→ 500). Driver messages never reach a client either way.

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

// PostgreSQL SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention,
// e.g. shutdown, statement timeout 57014), plus 40001/40P01 retryable conflicts.
const PG_STATES = /^(08|53|57|40001|40P01)/

// Every variant: better-sqlite3 reports extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT,
// SQLITE_LOCKED_SHAREDCACHE, SQLITE_IOERR_…), all of which mean "try again".
const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN)(_[A-Z_]+)?$/

// Messages of pg, pg-pool and kysely that carry no code.
const MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|driver has already been destroyed|connection has been discarded|The database connection is not open/i

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  // Node reports a failed connection to a host with several addresses as an AggregateError.
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || PG_STATES.test(code) || SQLITE_CODES.test(code)) return true
  }
  return MESSAGES.test(error.message)
}
