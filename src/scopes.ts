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
  if (missing.length) {
    // Named for the client's developer, but bounded: a request's scope may be 2000 characters.
    const named = missing.join(' ')
    throw invalidScope(`Scope not granted: ${named.length > 200 ? `${named.slice(0, 200)}…` : named}.`)
  }
  return [...new Set(wanted)]
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
    throw invalidScope(`Unknown scope: ${unknown.join(' ')}. Known scopes are listed in SCOPES.`)
  return [...new Set(scopes)]
}

/**
 * The effective scope of a session: what it was granted at login, less anything an admin
 * has since taken from the user. Rotation and introspection both report this.
 */
export function effectiveSessionScope(sessionScope: string, userScopes: string): string[] {
  return intersectScopes(splitScopes(sessionScope), splitScopes(userScopes))
}
