import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { OutboxRepository } from './outbox-repository.js'
import type { MailTransport } from './transport.js'

// The background half of the outbox (docs/account.md, "Mail delivery"): claims due
// messages, sends them, and records each outcome. Nothing here runs inside an HTTP
// request: a request only commits its row and kicks the sender, so an SMTP outage
// delays mail and never fails or slows the request.

/** How often every instance looks for due messages (messages committed elsewhere, retries). */
export const OUTBOX_POLL_INTERVAL_MS = 5_000
export const MAX_ATTEMPTS = 10
const CLAIM_BATCH = 20

/** Back-off after the n-th failed attempt: 30 s, 1 min, 2 min … at most 1 h. */
export function retryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1))
}

/** An SMTP error as an operator needs it: the server's reply or the network error, no message content. */
function describeFailure(error: unknown): string {
  const e = error as { code?: unknown; responseCode?: unknown; message?: unknown }
  const parts = [e.code, e.responseCode, e.message].filter((p) => p !== undefined).map(String)
  return (parts.join(' ') || 'unknown error').slice(0, 500)
}

export interface OutboxSenderDeps {
  outbox: OutboxRepository
  transport: MailTransport
  clock: Clock
  log: FastifyBaseLogger
}

export function createOutboxSender({ outbox, transport, clock, log }: OutboxSenderDeps) {
  let running: Promise<void> | undefined
  let again = false

  async function pass(): Promise<void> {
    for (;;) {
      const batch = await outbox.claim(clock(), CLAIM_BATCH)
      if (batch.length === 0) return
      for (const message of batch) {
        try {
          await transport.send({
            to: message.recipient,
            subject: message.subject,
            text: message.text_body,
            html: message.html_body,
          })
          await outbox.markSent(message.id, clock())
        } catch (error) {
          const now = clock()
          const giveUp = message.attempts >= MAX_ATTEMPTS
          const reason = describeFailure(error)
          await outbox.markAttemptFailed(
            message.id,
            now,
            reason,
            giveUp ? undefined : now + retryDelayMs(message.attempts),
          )
          const fields = { event: 'mail.failed', id: message.id, attempts: message.attempts, reason }
          if (giveUp) log.error(fields, 'mail delivery failed; giving up')
          else log.warn(fields, 'mail delivery failed; will retry')
        }
      }
      // A short batch means nothing else was due; a full one may have more behind it.
      if (batch.length < CLAIM_BATCH) return
    }
  }

  /** One sending pass; a call during a pass schedules another right after it (new mail may have come in). */
  function run(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        try {
          await pass()
        } catch (error) {
          log.warn({ err: error }, 'mail outbox: pass failed')
        }
      } while (again)
    })().finally(() => {
      running = undefined
    })
    return running
  }

  /** Resolves once no pass is running: tests and shutdown wait on it. */
  function settle(): Promise<void> {
    return running ?? Promise.resolve()
  }

  return { run, settle, pendingCount: outbox.pendingCount }
}

export type OutboxSender = ReturnType<typeof createOutboxSender>
