import type { Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely'
import type { SigningAlg } from '../config.js'

// Table types shared by both dialects. Times are epoch milliseconds set in code,
// ids are crypto.randomUUID() strings, flags are nullable timestamps: nothing here
// depends on a dialect's own types or defaults.

export interface UsersTable {
  id: string
  email: string
  name: string | null
  password_hash: string
  scopes: string
  disabled_at: number | null
  created_at: number
  updated_at: number
  /** Bumped on every credential or account-state change: users/credential-fence.ts. */
  credential_version: Generated<number>
  /** When the current email was proven by a link (docs/account.md); null = not verified. */
  email_verified_at: Generated<number | null>
}

/** One login = one session = one refresh-token family (docs/contract.md §2). */
export interface SessionsTable {
  id: string
  user_id: string
  client_id: string
  scope: string
  user_agent: string | null
  /** How the session's refresh tokens travel (docs/contract.md §8); fixed at login. */
  delivery: 'body' | 'cookie'
  created_at: number
  last_used_at: number
  expires_at: number
  revoked_at: number | null
  /** RFC 8176 methods of the login, space-separated (null: before issue 15, taken as "pwd"). */
  amr: string | null
  /** When the user authenticated (epoch ms); refreshes keep it (null: before issue 15, created_at). */
  auth_time: number | null
  /** RFC 9449 §5: a public client's session bound to this DPoP key thumbprint (null: not bound). */
  dpop_jkt: string | null
}

export interface RefreshTokensTable {
  id: string
  session_id: string
  token_hash: string
  created_at: number
  rotated_at: number | null
  /** The successor, encrypted under a key derived from this (parent) token: see tokens/refresh-token.ts. */
  successor_enc: string | null
}

/** Key lifecycle (RFC 7517 key sets, rotated): next → active → retiring → retired. */
export type KeyStatus = 'next' | 'active' | 'retiring' | 'retired'

export interface SigningKeysTable {
  kid: string
  alg: SigningAlg
  status: KeyStatus
  public_jwk: string
  private_jwk: string
  created_at: number
  activated_at: number | null
  retiring_at: number | null
  retired_at: number | null
}

export interface ClientsTable {
  id: string
  client_id: string
  name: string
  secret_hash: string
  scopes: string
  created_at: number
}

/** One security event (audit/, docs/audit.md); `details` is a JSON object, never a secret. */
export interface AuditEventsTable {
  id: string
  type: string
  at: number
  /** Who acted: a user id, "cli", "system", or null (an anonymous caller). */
  actor: string | null
  /** The user the event is about. */
  user_id: string | null
  client_id: string | null
  ip: string | null
  user_agent: string | null
  details: string
}

/** A user's TOTP authenticator (RFC 6238): pending until confirmed with a first code. */
export interface UserTotpTable {
  user_id: string
  /** The base32 secret, sealed with KEY_ENCRYPTION_SECRET when set (mfa/secret-sealing.ts). */
  secret_enc: string
  confirmed_at: number | null
  /** The last time step a code was accepted for: a code is accepted once (mfa/totp.ts). */
  last_step: number | null
  created_at: number
}

export interface RecoveryCodesTable {
  id: string
  user_id: string
  code_hash: string
  used_at: number | null
  created_at: number
}

/** A login whose password was right, waiting for its second factor (mfa/mfa-token.ts). */
export interface MfaTokensTable {
  id: string
  token_hash: string
  user_id: string
  /** users.credential_version the password was checked against (users/credential-fence.ts). */
  credential_version: number
  client_id: string
  scope: string
  /** When the password was checked (epoch ms): the session's auth_time. */
  auth_time: number
  attempts: number
  expires_at: number
  used_at: number | null
}

/** What a link token may do (docs/account.md); each purpose is one flow. */
export type LinkPurpose = 'verify_email' | 'reset_password' | 'change_email'

/** A mailed link's token, stored only as its SHA-256 hash; bound to the state it was issued for. */
export interface LinkTokensTable {
  id: string
  user_id: string
  purpose: LinkPurpose
  token_hash: string
  /** The address the link was sent to: it dies if the user's email changes. */
  email: string
  /** users.credential_version at issue: it dies on any credential change (users/credential-fence.ts). */
  credential_version: number
  created_at: number
  expires_at: number
  used_at: number | null
  /** A change_email link: the address it confirms (null for the other purposes). */
  new_email: string | null
}

/** A registered passkey (WebAuthn credential, passkeys/). */
export interface PasskeysTable {
  id: string
  user_id: string
  /** The credential ID, base64url, as the authenticator returns it. */
  credential_id: string
  /** The COSE public key, base64url. */
  public_key: string
  /** The signature counter last seen: a lower one is refused (cloned authenticator). */
  counter: number
  /** 'singleDevice' or 'multiDevice' (backup eligible): fixed for a credential's life. */
  device_type: string
  /** 1 when the authenticator last said the credential is backed up (synced). */
  backed_up: number
  /** Space-separated WebAuthn transports, a hint for the browser. */
  transports: string | null
  name: string
  created_at: number
  last_used_at: number | null
}

/** A WebAuthn ceremony's challenge: one use, short-lived (passkeys/passkey-session.ts). */
export interface WebauthnChallengesTable {
  id: string
  /** SHA-256 of the registration challenge, or of the login's passkey_session. */
  handle_hash: string
  purpose: 'registration' | 'login'
  /** The registering user; null for a discoverable-credential login. */
  user_id: string | null
  challenge: string
  expires_at: number
  used_at: number | null
}

/** The revocation feed (docs/contract.md §11): kept until no access token it concerns can be unexpired. */
export interface RevocationsTable {
  seq: Generated<number>
  /** 'session' (subject: the sid) or 'user' (subject: the user id; `at` is its not-before). */
  type: 'session' | 'user'
  subject: string
  at: number
  created_at: number
  expires_at: number
}

/** The durable mail outbox (docs/account.md, "Mail delivery"). */
export interface MailOutboxTable {
  id: string
  recipient: string
  template: string
  subject: string
  /** Erased once sent: a link token waits here in the clear only until delivery. */
  text_body: string
  html_body: string
  created_at: number
  /** When the sender may next try; a claim pushes it forward (a lease), a failure backs it off. */
  next_attempt_at: number
  attempts: Generated<number>
  last_error: string | null
  sent_at: number | null
  /** Set when the sender gave up after the last retry. */
  failed_at: number | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  clients: ClientsTable
  audit_events: AuditEventsTable
  user_totp: UserTotpTable
  recovery_codes: RecoveryCodesTable
  mfa_tokens: MfaTokensTable
  revocations: RevocationsTable
  link_tokens: LinkTokensTable
  mail_outbox: MailOutboxTable
  passkeys: PasskeysTable
  webauthn_challenges: WebauthnChallengesTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
export type ClientRow = Selectable<ClientsTable>
export type AuditEventRow = Selectable<AuditEventsTable>
export type UserTotpRow = Selectable<UserTotpTable>
export type MfaTokenRow = Selectable<MfaTokensTable>
export type LinkTokenRow = Selectable<LinkTokensTable>
export type MailOutboxRow = Selectable<MailOutboxTable>
export type PasskeyRow = Selectable<PasskeysTable>
export type WebauthnChallengeRow = Selectable<WebauthnChallengesTable>

/** A connection or an open transaction: repositories take either. */
export type Db = Kysely<Database> | Transaction<Database>

/** `all`'s keys: a table's column list the compiler checks complete against its interface. */
function columnsOf<T>(all: { [K in keyof T & string]: true }): (keyof T & string)[] {
  return Object.keys(all) as (keyof T & string)[]
}

// Statements prepared once per connection name their columns instead of selecting *
// (db/precompiled.ts): PostgreSQL refuses to run a prepared statement whose result
// columns changed, as they would for `*` when a rolling upgrade adds a column.
export const SESSION_COLUMNS = columnsOf<SessionsTable>({
  id: true,
  user_id: true,
  client_id: true,
  scope: true,
  user_agent: true,
  delivery: true,
  created_at: true,
  last_used_at: true,
  expires_at: true,
  revoked_at: true,
  amr: true,
  auth_time: true,
  dpop_jkt: true,
})
export const CLIENT_COLUMNS = columnsOf<ClientsTable>({
  id: true,
  client_id: true,
  name: true,
  secret_hash: true,
  scopes: true,
  created_at: true,
})
