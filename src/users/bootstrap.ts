import type { FastifyBaseLogger } from 'fastify'
import { SYSTEM_CONTEXT } from '../audit/events.js'
import { normalizeEmail, type UserService } from './service.js'

export const ADMIN_SCOPES = ['admin', 'profile:read', 'profile:write']

/** BOOTSTRAP_ADMIN_*: the first admin, created at start if no user has that email. */
export async function bootstrapAdmin(
  { users }: { users: Pick<UserService, 'findByEmail' | 'createUser'> },
  admin: { email: string; password: string },
  log: FastifyBaseLogger,
): Promise<void> {
  const email = normalizeEmail(admin.email)
  if (await users.findByEmail(email)) return
  try {
    await users.createUser({ email, password: admin.password, scopes: ADMIN_SCOPES }, SYSTEM_CONTEXT)
    log.info({ email }, 'bootstrap admin created')
  } catch (error) {
    // Another instance starting at the same moment may have created it.
    if (!(await users.findByEmail(email))) throw error
  }
}
