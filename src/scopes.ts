import { invalidRequest, invalidScope } from './errors.js'

// Scopes: their syntax (RFC 6749 §3.3), how a stored list is read, and the rules for
// granting them. The one place these live; config, HTTP schemas and every domain
// service below the routes import from here.

/** RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\\'. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** A space-separated list of scope tokens, empty allowed (a stored or returned `scope`). */
export const SCOPE_STRING = /^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/

/** A stored space-separated scope list as an array (empty entries dropped). */
export function splitScopes(scopes: string): string[] {
  return scopes.split(' ').filter(Boolean)
}

/**
 * RFC 6749 §3.3: the scope granted for a request. Omitted means everything held;
 * anything not held is invalid_scope (never silently dropped, so clients learn early).
 */
export function resolveScope(requested: string | undefined, held: readonly string[]): string[] {
  if (requested === undefined) return [...held]
  const wanted = requested.split(' ').filter(Boolean)
  if (!wanted.every((s) => SCOPE_TOKEN.test(s)))
    throw invalidRequest('scope must be space-separated scope tokens.')
  const missing = wanted.filter((s) => !held.includes(s))
  if (missing.length) throw invalidScope(`Scope not granted: ${summarize(missing)}.`)
  return [...new Set(wanted)]
}

/** "3 scopes: a, b, c…": an error_description names a few, never echoes a whole hostile list. */
function summarize(scopes: readonly string[]): string {
  const shown = scopes.slice(0, 3).map((s) => (s.length > 40 ? `${s.slice(0, 40)}…` : s))
  return scopes.length === 1
    ? shown[0]!
    : `${scopes.length} scopes: ${shown.join(', ')}${scopes.length > 3 ? '…' : ''}`
}

export function intersectScopes(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((s) => b.includes(s))
}

/**
 * Scopes an admin grants to a user or a client must be ones Badge knows (SCOPES). Unknown ones
 * are 400 invalid_scope, the same code the token endpoint uses for a scope it cannot grant.
 */
export function assertKnownScopes(scopes: readonly string[], known: readonly string[]): string[] {
  const unknown = scopes.filter((s) => !known.includes(s))
  if (unknown.length)
    throw invalidScope(`Unknown scope: ${summarize(unknown)}. Known scopes are listed in SCOPES.`)
  return [...new Set(scopes)]
}

/**
 * The scopes a user's stored list still grants: only those SCOPES lists. Removing a scope
 * from SCOPES withdraws it from every holder at their next login or refresh, as it
 * already does for clients (ClientService.grantableScopes).
 */
export function grantableUserScopes(stored: string, known: readonly string[]): string[] {
  return splitScopes(stored).filter((s) => known.includes(s))
}

/**
 * The effective scope of a session: what it was granted at login, less anything an admin
 * has since taken from the user or SCOPES no longer lists. Rotation and introspection
 * both report this.
 */
export function effectiveSessionScope(
  sessionScope: string,
  userScopes: string,
  known: readonly string[],
): string[] {
  return intersectScopes(splitScopes(sessionScope), grantableUserScopes(userScopes, known))
}
