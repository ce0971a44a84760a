import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { buildAppOn, buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import {
  createSharedDatabaseUrl,
  dialects,
  openTestDatabase,
  TEST_DATABASE_URL,
} from '../helpers/databases.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { freePort } from '../helpers/net.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/account.md, "Mail delivery": mail committed with the change it announces, sent by a
// background sender over real SMTP, retried with back-off, never lost, never doubled.

await eachDialect(t, async (t, dialect) => {
  await t.test('sign-up mails a verification link over SMTP, with a text and an HTML part', async (t) => {
    const smtp = await startSmtpServer(t)
    const { app, database } = await buildTestApp(t, { MAIL_URL: smtp.url }, dialect)
    const email = uniqueEmail()
    const res = await app.inject({ method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } })
    t.equal(res.statusCode, 201)
    t.equal(res.json().email_verified, false)
    await deliverMail(app)
    const [mail, ...more] = smtp.mailsTo(email)
    t.ok(mail, 'one mail arrived')
    t.equal(more.length, 0)
    t.equal(mail!.subject, 'Confirm your email address')
    t.match(mail!.raw, /From: Badge <no-reply@localhost>/)
    t.match(mail!.raw, /Content-Type: text\/plain/)
    t.match(mail!.raw, /Content-Type: text\/html/)
    t.match(mail!.decoded, /http:\/\/badge\.test\/account\/verify-email#token=[A-Za-z0-9_-]{43}/)
    t.match(mail!.decoded, /did not create an account/)
    // Once sent, the outbox keeps no copy of the link.
    const row = await database.db.selectFrom('mail_outbox').selectAll().executeTakeFirstOrThrow()
    t.ok(row.sent_at)
    t.equal(row.text_body, '')
    t.equal(row.html_body, '')
    t.notOk(JSON.stringify(row).includes(linkToken(mail!)))
  })

  await t.test(
    'SMTP down: the request still succeeds, and the mail goes out once SMTP is back',
    async (t) => {
      const port = await freePort()
      const { app, clock, database } = await buildTestApp(
        t,
        { MAIL_URL: `smtp://127.0.0.1:${port}` },
        dialect,
      )
      const email = uniqueEmail()
      const res = await app.inject({
        method: 'POST',
        url: '/v1/users',
        payload: { email, password: PASSWORD },
      })
      t.equal(res.statusCode, 201)
      const forgot = await app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email } })
      t.equal(forgot.statusCode, 202)
      await deliverMail(app)
      const pending = await database.db.selectFrom('mail_outbox').selectAll().execute()
      t.equal(pending.length, 2)
      for (const row of pending) {
        t.equal(row.sent_at, null)
        t.equal(row.failed_at, null)
        t.equal(row.attempts, 1)
        t.match(row.last_error, /ECONNREFUSED/)
        t.ok(row.next_attempt_at > clock(), 'backed off')
      }
      t.equal(await app.services.mailSender.pendingCount(), 2)

      const smtp = await startSmtpServer(t, port)
      await app.services.mailSender.run()
      t.equal(smtp.inbox.length, 0, 'nothing is retried before its back-off ends')
      clock.advance(60_000)
      await app.services.mailSender.run()
      t.same(
        smtp
          .mailsTo(email)
          .map((m) => m.subject)
          .sort(),
        ['Confirm your email address', 'Reset your password'],
      )
      t.equal(await app.services.mailSender.pendingCount(), 0)
    },
  )

  await t.test(
    'a message that keeps failing is given up after the last retry, with the reason',
    async (t) => {
      const port = await freePort()
      const { app, clock, database } = await buildTestApp(
        t,
        { MAIL_URL: `smtp://127.0.0.1:${port}` },
        dialect,
      )
      await app.inject({
        method: 'POST',
        url: '/v1/users',
        payload: { email: uniqueEmail(), password: PASSWORD },
      })
      for (let i = 0; i < 12; i++) {
        await app.services.mailSender.run()
        clock.advance(3_600_000)
      }
      const row = await database.db.selectFrom('mail_outbox').selectAll().executeTakeFirstOrThrow()
      t.equal(row.sent_at, null)
      t.ok(row.failed_at, 'given up')
      t.equal(row.attempts, 10)
      t.match(row.last_error, /ECONNREFUSED/)
      t.not(row.text_body, '', 'kept, so that an operator can retry it')
    },
  )

  await t.test('mail committed before a restart is sent by the next instance', async (t) => {
    const url = await createSharedDatabaseUrl(t, dialect)
    const port = await freePort()
    const first = await buildAppOn(t, url, { MAIL_URL: `smtp://127.0.0.1:${port}` })
    const email = uniqueEmail()
    const res = await first.app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email, password: PASSWORD },
    })
    t.equal(res.statusCode, 201)
    await first.app.close()

    const smtp = await startSmtpServer(t)
    const second = await buildAppOn(t, url, { MAIL_URL: smtp.url })
    second.clock.advance(60_000)
    await deliverMail(second.app)
    t.equal(smtp.mailsTo(email).length, 1)
  })

  await t.test('MAIL_URL=log: writes each message to the log as one mail.logged line', async (t) => {
    const lines: string[] = []
    const database = await openTestDatabase(t, dialect)
    const app = await buildApp(loadConfig({ ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: database.url }), {
      database,
      logStream: { write: (line: string) => void lines.push(line) },
    })
    t.teardown(() => app.close())
    const email = uniqueEmail()
    await app.inject({ method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } })
    await deliverMail(app)
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'mail.logged')
    t.equal(logged.length, 1)
    t.equal(logged[0].level, 30)
    t.equal(logged[0].to, email)
    t.equal(logged[0].subject, 'Confirm your email address')
    t.match(logged[0].text, /http:\/\/badge\.test\/account\/verify-email#token=[A-Za-z0-9_-]{43}/)
  })
})

await t.test(
  'two instances on PostgreSQL send each message once',
  { skip: !TEST_DATABASE_URL },
  async (t) => {
    const postgres = dialects.find((d) => d.name === 'postgres')!
    const url = await createSharedDatabaseUrl(t, postgres)
    const port = await freePort()
    const a = await buildAppOn(t, url, { MAIL_URL: `smtp://127.0.0.1:${port}` })
    const b = await buildAppOn(t, url, { MAIL_URL: `smtp://127.0.0.1:${port}` })
    const emails = Array.from({ length: 30 }, () => uniqueEmail('twice'))
    for (const email of emails) {
      const res = await a.app.inject({
        method: 'POST',
        url: '/v1/users',
        payload: { email, password: PASSWORD },
      })
      t.equal(res.statusCode, 201)
    }
    await a.app.services.mailSender.settle()
    const smtp = await startSmtpServer(t, port)
    a.clock.advance(60_000)
    b.clock.advance(60_000)
    await Promise.all([a.app.services.mailSender.run(), b.app.services.mailSender.run()])
    t.equal(smtp.inbox.length, emails.length)
    t.same(smtp.inbox.map((m) => m.to[0]).sort(), [...emails].sort(), 'every address exactly once')
  },
)
