import t from 'tap'
import { eachDialect } from '../helpers/app.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { buildHttpTestApp, type HttpAnswer } from '../helpers/http-app.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/account.md, "Password reset": a reset goes through the credential fence of issue 13
// (users/credential-fence.ts). Attackers log in with the old password in a loop, over
// real HTTP at BCRYPT_COST=12, while the owner resets it from the mailed link: no session
// opened with the old password may survive.

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'a login racing a password reset leaves no session opened with the old password',
    async (t) => {
      const smtp = await startSmtpServer(t)
      const h = await buildHttpTestApp(
        t,
        { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off', BCRYPT_COST: '12', LOGIN_CONCURRENCY: '4' },
        dialect,
      )
      const json = (path: string, body: unknown) =>
        fetch(`${h.base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const email = uniqueEmail('reset-race')
      const signup = await json('/v1/users', { email, password: PASSWORD })
      const { id } = (await signup.json()) as { id: string }
      t.equal((await json('/v1/password/forgot', { email })).status, 202)
      await deliverMail(h.app)
      const token = linkToken(smtp.mailsTo(email)[0]!)

      const answers: HttpAnswer[] = []
      let reset = false
      const attacker = async () => {
        while (!reset)
          answers.push(
            await h.post('/oauth/token', { grant_type: 'password', username: email, password: PASSWORD }),
          )
      }
      const attackers = [attacker(), attacker(), attacker()]
      // Let every attacker get a login into bcrypt before the reset starts.
      await new Promise((resolve) => setTimeout(resolve, 150))
      const res = await json('/v1/password/reset', { token, new_password: 'a reset passphrase' })
      t.equal(res.status, 204, 'the reset went through')
      reset = true
      await Promise.all(attackers)

      t.same(
        answers.map((a) => a.status).filter((s) => s !== 200 && s !== 400),
        [],
        `every racing login is 200 or 400 (${answers.length} logins)`,
      )
      t.ok(
        answers.some((a) => a.status === 200),
        'some racing logins succeeded before the reset (the race was real)',
      )
      const open = await h.database.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute()
      t.equal(open.length, 0, 'no session opened with the old password survives')
      for (const a of answers.filter((a) => a.status === 200)) {
        const refreshed = await h.post('/oauth/token', {
          grant_type: 'refresh_token',
          refresh_token: String(a.body.refresh_token),
        })
        t.equal(refreshed.status, 400, 'an old-password refresh token is dead')
      }
    },
  )
})
