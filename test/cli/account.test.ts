import t from 'tap'
import { buildAppOn, eachDialect } from '../helpers/app.js'
import { createSharedDatabaseUrl } from '../helpers/databases.js'
import { bearer, PASSWORD, passwordGrant, signUp } from '../helpers/flows.js'
import { freePort } from '../helpers/net.js'
import { CLI, runScript, tempDir } from '../helpers/process.js'
import { deliverMail, startSmtpServer } from '../helpers/smtp.js'

// `badge users verify`, `badge users reset-link`, `badge outbox list|retry` run as child
// processes against a database a Badge app in this process also uses; every effect is
// checked through the HTTP API or a real SMTP server.

await eachDialect(t, async (t, dialect) => {
  const cwd = tempDir(t)
  const url = await createSharedDatabaseUrl(t, dialect)
  const smtpPort = await freePort()
  const env = { BCRYPT_COST: '4', LOG_LEVEL: 'silent', ISSUER: 'http://badge.test', DATABASE_URL: url }
  const badge = (args: string[]) => runScript(CLI, args, { cwd, env })
  const { app, clock } = await buildAppOn(t, url, { MAIL_URL: `smtp://127.0.0.1:${smtpPort}` })

  await t.test('users verify marks the address verified', async (t) => {
    const user = await signUp(app)
    const res = await badge(['users', 'verify', user.email, '--json'])
    t.equal(res.code, 0, res.stderr)
    t.equal(JSON.parse(res.stdout).email_verified, true)
    const login = await passwordGrant(app, { username: user.email, password: PASSWORD })
    const me = await app.inject({ url: '/v1/me', headers: bearer(login.json().access_token) })
    t.equal(me.json().email_verified, true)
  })

  await t.test('users reset-link prints a working one-time link, and nothing on stderr', async (t) => {
    const user = await signUp(app)
    const res = await badge(['users', 'reset-link', user.email])
    t.equal(res.code, 0)
    t.equal(res.stderr, '')
    const match =
      /^http:\/\/badge\.test\/account\/reset-password#token=([A-Za-z0-9_-]{43})\n\(valid once, until \S+\)\n$/.exec(
        res.stdout,
      )
    t.ok(match, res.stdout)
    const reset = (new_password: string) =>
      app.inject({ method: 'POST', url: '/v1/password/reset', payload: { token: match![1], new_password } })
    t.equal((await reset('set by a support link')).statusCode, 204)
    t.equal((await reset('and once more')).json().error, 'invalid_link')
    t.equal(
      (await passwordGrant(app, { username: user.email, password: 'set by a support link' })).statusCode,
      200,
    )

    const unknown = await badge(['users', 'reset-link', 'nobody@example.com'])
    t.same(unknown, { code: 1, stdout: '', stderr: 'badge: No user has the email nobody@example.com.\n' })
  })

  await t.test('outbox list shows given-up mail with its reason; outbox retry sends it again', async (t) => {
    const user = await signUp(app)
    // SMTP is down: the sign-up mail fails every attempt until it is given up.
    for (let i = 0; i < 10; i++) {
      clock.advance(3_600_000)
      await deliverMail(app)
    }
    const listed = await badge(['outbox', 'list', '--json'])
    t.equal(listed.code, 0, listed.stderr)
    const mine = JSON.parse(listed.stdout).items.filter(
      (m: { recipient: string }) => m.recipient === user.email,
    )
    t.equal(mine.length, 1)
    t.match(mine[0], { template: 'verify_email', status: 'failed', attempts: 10, last_error: /ECONNREFUSED/ })
    t.notOk(listed.stdout.includes('#token='), 'no link in the listing')

    const smtp = await startSmtpServer(t, smtpPort)
    const retried = await badge(['outbox', 'retry', '--id', mine[0].id, '--json'])
    t.equal(retried.code, 0, retried.stderr)
    t.same(JSON.parse(retried.stdout), { retried: 1 })
    clock.advance(1000)
    await deliverMail(app)
    t.equal(smtp.mailsTo(user.email).length, 1, 'delivered after the retry')
    const after = await badge(['outbox', 'list'])
    t.notOk(after.stdout.includes(user.email), 'no longer unsent')
  })
})
