// The audit log's vocabulary (docs/contract.md §12, docs/audit.md). Types name what
// happened in the past tense; a later feature adds its own (password.reset, mfa.enabled,
// ...) here and records them through AuditLog.record.

export const AUDIT_EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'refresh.reuse_detected',
  'session.revoked',
  'password.changed',
  'password.reset',
  'email.verified',
  'email.changed',
  'mfa.enabled',
  'mfa.disabled',
  'passkey.added',
  'passkey.removed',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'client.created',
  'client.deleted',
  'key.rotated',
] as const

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

/** What GET /v1/me/events shows a user: their own security history, not admin bookkeeping. */
export const OWN_EVENT_TYPES: readonly AuditEventType[] = [
  'login.succeeded',
  'login.failed',
  'refresh.reuse_detected',
  'session.revoked',
  'password.changed',
  'password.reset',
  'email.verified',
  'email.changed',
  'mfa.enabled',
  'mfa.disabled',
  'passkey.added',
  'passkey.removed',
]

/**
 * Who caused an event and from where. `actor` is a user id, "cli" (the operator CLI),
 * "system" (Badge itself: start-up, maintenance) or null (an anonymous caller). `ip` is
 * the client's address as the server saw it (request.ip, so TRUST_PROXY applies).
 */
export interface AuditContext {
  actor: string | null
  ip: string | null
  userAgent: string | null
}

export const CLI_CONTEXT: AuditContext = Object.freeze({ actor: 'cli', ip: null, userAgent: null })
export const SYSTEM_CONTEXT: AuditContext = Object.freeze({ actor: 'system', ip: null, userAgent: null })

/** Non-secret facts about an event: ids, counts, reasons, scope names. Never a password, token or secret. */
export type AuditDetails = Record<string, string | number | boolean | string[] | null>

export interface AuditEventInput {
  type: AuditEventType
  /** The user the event is about. */
  userId?: string | null
  clientId?: string | null
  details?: AuditDetails
}
