import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { eachDialect, TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { openTestDatabase } from '../helpers/databases.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/account.md: with a real SMTP transport, no link token and no password reaches any
// log line at LOG_LEVEL=trace, through every account flow (email change included), failed
// deliveries included.
// (Only MAIL_URL=log: writes a link to the log, on purpose: mail-outbox.test.ts.)

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const lines: string[] = []
  const database = await openTestDatabase(t, dialect)
  const clock = testClock()
  const app = await buildApp(
    loadConfig({ ...TEST_ENV, LOG_LEVEL: 'trace', MAIL_URL: smtp.url, DATABASE_URL: database.url }),
    { database, clock, logStream: { write: (line: string) => void lines.push(line) } },
  )
  t.teardown(() => app.close())
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload })

  const email = uniqueEmail('hygiene')
  const secrets = [PASSWORD, 'the reset passphrase']
  t.equal((await post('/v1/users', { email, password: PASSWORD })).statusCode, 201)
  await deliverMail(app)
  const verify = linkToken(smtp.mailsTo(email)[0]!)
  secrets.push(verify)
  t.equal((await post('/v1/email/verify', { token: verify })).statusCode, 200)
  t.equal((await post('/v1/email/verify', { token: verify })).statusCode, 400)
  t.equal((await post('/v1/password/forgot', { email })).statusCode, 202)
  await deliverMail(app)
  const reset = linkToken(smtp.mailsTo(email).find((m) => m.subject === 'Reset your password')!)
  secrets.push(reset)
  t.equal(
    (await post('/v1/password/reset', { token: reset, new_password: 'the reset passphrase' })).statusCode,
    204,
  )
  t.equal(
    (await post('/v1/password/reset', { token: reset, new_password: 'the reset passphrase' })).statusCode,
    400,
  )

  // An email change: its link, used twice, and a wrong current password on the way.
  const login = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'password',
      username: email,
      password: 'the reset passphrase',
    }).toString(),
  })
  t.equal(login.statusCode, 200)
  const authorization = `Bearer ${login.json().access_token}`
  const changeEmail = (current_password: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: { authorization },
      payload: { new_email: newEmail, current_password },
    })
  const newEmail = uniqueEmail('hygiene-new')
  t.equal((await changeEmail('a wrong current password')).statusCode, 400)
  secrets.push('a wrong current password')
  t.equal((await changeEmail('the reset passphrase')).statusCode, 202)
  await deliverMail(app)
  const change = linkToken(smtp.mailsTo(newEmail)[0]!)
  secrets.push(change)
  t.equal((await post('/v1/email/verify', { token: change })).statusCode, 200)
  t.equal((await post('/v1/email/verify', { token: change })).statusCode, 400)

  // A delivery that fails logs its reason, not the message.
  await smtp.close()
  t.equal((await post('/v1/password/forgot', { email: newEmail })).statusCode, 202)
  await deliverMail(app)
  const pending = await database.db
    .selectFrom('mail_outbox')
    .select('text_body')
    .where('sent_at', 'is', null)
    .executeTakeFirstOrThrow()
  const unsent = /#token=([A-Za-z0-9_-]{43})/.exec(pending.text_body)![1]!
  secrets.push(unsent)
  t.ok(
    lines.some((l) => l.includes('"event":"mail.failed"')),
    'the failed delivery was logged',
  )

  t.ok(lines.length > 10, `${lines.length} log lines written`)
  for (const secret of secrets) {
    const leaks = lines.filter((l) => l.includes(secret))
    t.same(leaks, [], `${secret.slice(0, 6)}… appears in no log line`)
  }
})
