import type { UserRow } from '../db/schema.js'

/**
 * Whether a user may sign in, refresh, or be served as "the user of this token": it
 * exists and is not disabled. Every such path (password grant, refresh rotation,
 * refresh-token introspection, GET /v1/me, password change) asks this one function.
 */
export function isUserUsable(user: UserRow | undefined): user is UserRow {
  return user !== undefined && user.disabled_at === null
}
