import type { FastifyBaseLogger } from 'fastify'
import nodemailer from 'nodemailer'
import type { MailMessage } from './message.js'

// MAIL_URL (docs/contract.md §9): smtp:// (STARTTLS when the server offers it), smtps://
// (implicit TLS), or log: for local development, which writes each message to the log
// as one info line (event mail.logged), link included: that line is the one place a
// link token may appear in a log, on purpose (docs/account.md).

export interface MailTransport {
  send(message: MailMessage): Promise<void>
  close(): void
}

/** Bounds every SMTP step, so a silent server holds up the sender, never a request. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 }

export function createMailTransport(url: string, from: string, log: FastifyBaseLogger): MailTransport {
  if (url === 'log:') {
    return {
      async send({ to, subject, text }) {
        log.info({ event: 'mail.logged', to, subject, text }, 'mail.logged')
      },
      close() {},
    }
  }
  const transporter = nodemailer.createTransport({ url, ...SMTP_TIMEOUTS }, { from })
  return {
    async send({ to, subject, text, html }) {
      await transporter.sendMail({ to, subject, text, html })
    },
    close: () => transporter.close(),
  }
}

/** Whether MAIL_URL is the development transport: a warning at start on a public ISSUER. */
export function isLogTransport(url: string): boolean {
  return url === 'log:'
}
