import { type Kysely, type Migration, type MigrationProvider, Migrator, PostgresAdapter } from 'kysely'

// Migrations in code, portable SQL only: text, bigint and nullable columns, plain
// indexes and foreign keys. Each runs on SQLite and PostgreSQL alike.

const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('email', 'varchar(320)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(200)')
        .addColumn('password_hash', 'varchar(100)', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('users_created_at_id').on('users').columns(['created_at', 'id']).execute()

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('delivery', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('session_id', 'varchar(36)', (c) =>
          c.notNull().references('sessions.id').onDelete('cascade'),
        )
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .addColumn('successor_enc', 'text')
        .execute()
      await db.schema
        .createIndex('refresh_tokens_session_id')
        .on('refresh_tokens')
        .column('session_id')
        .execute()

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('alg', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('retiring_at', 'bigint')
        .addColumn('retired_at', 'bigint')
        .execute()

      await db.schema
        .createTable('clients')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('secret_hash', 'varchar(128)', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()
    },
  },
  // Issue 13: the credential fence (users/credential-fence.ts). Bumped whenever a
  // password, the disabled flag or the account itself changes; a session is only
  // committed while the version it was checked against is still current.
  '0002_security': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('credential_version', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute()
    },
  },
  // Issue 14: the account lifecycle (docs/account.md). Link tokens are stored only as
  // hashes; the mail outbox is written in the transaction of the change it announces.
  '0003_account': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute()

      await db.schema
        .createTable('link_tokens')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('email', 'varchar(320)', (c) => c.notNull())
        .addColumn('credential_version', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute()
      await db.schema
        .createIndex('link_tokens_user_id_purpose')
        .on('link_tokens')
        .columns(['user_id', 'purpose'])
        .execute()

      await db.schema
        .createTable('mail_outbox')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('recipient', 'varchar(320)', (c) => c.notNull())
        .addColumn('template', 'varchar(32)', (c) => c.notNull())
        .addColumn('subject', 'varchar(200)', (c) => c.notNull())
        .addColumn('text_body', 'text', (c) => c.notNull())
        .addColumn('html_body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'varchar(500)')
        .addColumn('sent_at', 'bigint')
        .addColumn('failed_at', 'bigint')
        .execute()
      await db.schema
        .createIndex('mail_outbox_due')
        .on('mail_outbox')
        .columns(['sent_at', 'failed_at', 'next_attempt_at'])
        .execute()
    },
  },
  // Issue 15: second factors (src/mfa/). TOTP secrets (sealed when KEY_ENCRYPTION_SECRET is
  // set), recovery codes (hashes only), the mfa_tokens of logins waiting for their second
  // factor (hashes only), and how each session was authenticated (amr, auth_time), which
  // its refreshed access tokens keep.
  '0004_mfa': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_totp')
        .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('secret_enc', 'text', (c) => c.notNull())
        .addColumn('confirmed_at', 'bigint')
        .addColumn('last_step', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('recovery_codes_user_id').on('recovery_codes').column('user_id').execute()
      await db.schema
        .createTable('mfa_tokens')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('credential_version', 'bigint', (c) => c.notNull())
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute()
      await db.schema.createIndex('mfa_tokens_user_id').on('mfa_tokens').column('user_id').execute()
      await db.schema.alterTable('sessions').addColumn('amr', 'varchar(64)').execute()
      await db.schema.alterTable('sessions').addColumn('auth_time', 'bigint').execute()
    },
  },
  // Issue 16: the revocation feed (sessions/revocation-log.ts). `seq` orders the feed and
  // is never reused (SQLite AUTOINCREMENT, PostgreSQL bigserial), so a cursor stays valid
  // across purges. One of two dialect-specific column types in the schema.
  '0005_revocations': {
    async up(db: Kysely<unknown>) {
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter
      await db.schema
        .createTable('revocations')
        .$call((t) =>
          postgres
            ? t.addColumn('seq', 'bigserial', (c) => c.primaryKey())
            : t.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement()),
        )
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('subject', 'varchar(64)', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('revocations_expires_at').on('revocations').column('expires_at').execute()
    },
  },
  // Issue 17: the audit log (audit/, docs/audit.md). No foreign keys: an event
  // outlives the user or client it names, until AUDIT_RETENTION_DAYS purges it.
  '0006_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'varchar(64)')
        .addColumn('user_id', 'varchar(36)')
        .addColumn('client_id', 'varchar(64)')
        .addColumn('ip', 'varchar(64)')
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('details', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('audit_events_at_id').on('audit_events').columns(['at', 'id']).execute()
      await db.schema
        .createIndex('audit_events_user_id_at_id')
        .on('audit_events')
        .columns(['user_id', 'at', 'id'])
        .execute()
    },
  },
  // Issue 14: email change (docs/account.md). A change_email link carries the address it
  // confirms; the account's email changes to it only when the link is used.
  '0007_email_change': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_tokens').addColumn('new_email', 'varchar(320)').execute()
    },
  },
  // Issue 15: passkeys (WebAuthn, passkeys/) and their one-use ceremony challenges.
  '0008_passkeys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('passkeys')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('credential_id', 'varchar(1400)', (c) => c.notNull().unique())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('device_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('transports', 'varchar(256)')
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute()
      await db.schema.createIndex('passkeys_user_id').on('passkeys').column('user_id').execute()
      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('handle_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute()
    },
  },
  // Issue 16: DPoP (RFC 9449 §5, docs/dpop.md). A public client's session bound to the
  // thumbprint of its DPoP key: refreshing it needs a proof by that key.
  '0009_dpop': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('dpop_jkt', 'varchar(64)').execute()
    },
  },
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/** Runs pending migrations; returns the names of those it applied (empty when up to date). */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    throw new Error(
      `Database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`,
    )
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
