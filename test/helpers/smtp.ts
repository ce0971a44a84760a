import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

// A real SMTP server in the test process (smtp-server): Badge delivers to it over TCP
// exactly as it would to a mail relay, and tests read what arrived.

export interface ReceivedMail {
  to: string[]
  /** The raw message, as it crossed the wire. */
  raw: string
  /** Header and body with quoted-printable soft breaks and escapes undone: easy to search. */
  decoded: string
  subject: string
}

export interface TestSmtpServer {
  port: number
  url: string
  inbox: ReceivedMail[]
  /** Mails that arrived for `address`. */
  mailsTo(address: string): ReceivedMail[]
  close(): Promise<void>
}

function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** Starts a server on `port` (0: any free one); stopped when the test ends. */
export async function startSmtpServer(
  t: { teardown(fn: () => unknown): void },
  port = 0,
): Promise<TestSmtpServer> {
  const inbox: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const decoded = decodeQuotedPrintable(raw)
        inbox.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          decoded,
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '',
        })
        callback()
      })
    },
  })
  server.listen(port, '127.0.0.1')
  await once(server.server, 'listening')
  const actual = (server.server.address() as AddressInfo).port
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    port: actual,
    url: `smtp://127.0.0.1:${actual}`,
    inbox,
    mailsTo: (address) => inbox.filter((m) => m.to.includes(address)),
    close,
  }
}

/** The link token in a mail (the #token= fragment of the link it carries). */
export function linkToken(mail: ReceivedMail): string {
  const match = /#token=([A-Za-z0-9_-]{43})\b/.exec(mail.decoded)
  if (!match) throw new Error(`no link token in mail: ${mail.decoded.slice(0, 800)}`)
  return match[1]!
}

/**
 * Waits until `app` has handed every due message to its transport: background
 * forgot-password work first, then one sending pass (which joins a running one).
 */
export async function deliverMail(app: {
  services: { account: { settle(): Promise<void> }; mailSender: { run(): Promise<void> } }
}): Promise<void> {
  await app.services.account.settle()
  await app.services.mailSender.run()
}
