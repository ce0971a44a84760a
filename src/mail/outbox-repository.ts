import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Dialect } from '../db/index.js'
import type { Database, Db, MailOutboxRow } from '../db/schema.js'
import type { MailMessage } from './message.js'

// The mail outbox table (docs/account.md, "Mail delivery"). A message is inserted in the
// transaction of the change it announces, so it exists exactly when the change does.
// Senders claim due messages with a lease: the claim moves next_attempt_at past the
// lease, in a transaction that on PostgreSQL locks the rows it picks and skips rows
// another instance is claiming (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time
// (BEGIN IMMEDIATE, db/index.ts), which serializes claims the same way. A sender that
// dies mid-send leaves the lease to run out, and the message is due again.

/** How long a claimed message is reserved for its sender; longer than every SMTP timeout together. */
export const CLAIM_LEASE_MS = 60_000

export function createOutboxRepository(db: Kysely<Database>, dialect: Dialect) {
  return {
    /** Adds a message; call it with the transaction of the change the message announces. */
    async enqueue(trx: Db, message: MailMessage, template: string, now: number): Promise<string> {
      const id = randomUUID()
      await trx
        .insertInto('mail_outbox')
        .values({
          id,
          recipient: message.to,
          template,
          subject: message.subject,
          text_body: message.text,
          html_body: message.html,
          created_at: now,
          next_attempt_at: now,
          last_error: null,
          sent_at: null,
          failed_at: null,
        })
        .execute()
      return id
    },

    /** Up to `limit` due messages, now reserved for the caller until `now + CLAIM_LEASE_MS`. */
    claim(now: number, limit: number): Promise<MailOutboxRow[]> {
      return db.transaction().execute(async (trx) => {
        const due = await trx
          .selectFrom('mail_outbox')
          .selectAll()
          .where('sent_at', 'is', null)
          .where('failed_at', 'is', null)
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .limit(limit)
          .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked())
          .execute()
        if (due.length === 0) return []
        await trx
          .updateTable('mail_outbox')
          .set((eb) => ({ next_attempt_at: now + CLAIM_LEASE_MS, attempts: eb('attempts', '+', 1) }))
          .where(
            'id',
            'in',
            due.map((m) => m.id),
          )
          .execute()
        return due.map((m) => ({ ...m, attempts: m.attempts + 1 }))
      })
    },

    /** Delivered: the bodies (which may hold a link token) are erased, the metadata stays for operators. */
    async markSent(id: string, now: number): Promise<void> {
      await db
        .updateTable('mail_outbox')
        .set({ sent_at: now, text_body: '', html_body: '', last_error: null })
        .where('id', '=', id)
        .execute()
    },

    /**
     * A failed attempt: due again at `retryAt`, or given up (failed_at) when `retryAt` is
     * undefined. A given-up message keeps its bodies so an operator can retry it
     * (`badge outbox retry`); a link in it still expires on its own.
     */
    async markAttemptFailed(
      id: string,
      now: number,
      error: string,
      retryAt: number | undefined,
    ): Promise<void> {
      await db
        .updateTable('mail_outbox')
        .set(
          retryAt === undefined
            ? { failed_at: now, last_error: error }
            : { next_attempt_at: retryAt, last_error: error },
        )
        .where('id', '=', id)
        .execute()
    },

    /** Unsent messages (pending and given up), newest first, without their bodies: for operators. */
    listUnsent(limit: number) {
      return db
        .selectFrom('mail_outbox')
        .select([
          'id',
          'recipient',
          'template',
          'subject',
          'created_at',
          'attempts',
          'next_attempt_at',
          'last_error',
          'failed_at',
        ])
        .where('sent_at', 'is', null)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute()
    },

    /** Makes given-up messages (one, or all) due now with a fresh set of attempts; returns how many. */
    async retry(now: number, id?: string): Promise<number> {
      let query = db
        .updateTable('mail_outbox')
        .set({ failed_at: null, attempts: 0, next_attempt_at: now })
        .where('sent_at', 'is', null)
        .where('failed_at', 'is not', null)
      if (id !== undefined) query = query.where('id', '=', id)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows)
    },

    /** Messages not yet sent nor given up: what operators watch. */
    async pendingCount(): Promise<number> {
      const row = await db
        .selectFrom('mail_outbox')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('sent_at', 'is', null)
        .where('failed_at', 'is', null)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
  }
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>
