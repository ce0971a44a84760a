import { join } from 'node:path'
import t from 'tap'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/process.js'
import { startBadge } from '../helpers/processes.js'
import { linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/account.md "The outbox": a mail committed with its change survives the process.
// A real Badge process answers a forgot-password request while SMTP is down, is killed
// with SIGKILL (no shutdown hook runs), and a new process on the same SQLite file sends
// the mail once SMTP is back; its link still works. (The first attempt failed before the
// kill, so the mail goes out when its 30-second back-off has passed.)

t.test('kill -9 after commit: the reset mail is sent after the restart, and its link works', async (t) => {
  const dir = tempDir(t)
  const smtpPort = await freePort()
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'badge.db')}`,
    MAIL_URL: `smtp://127.0.0.1:${smtpPort}`,
    EMAIL_VERIFICATION: 'off',
    LOG_LEVEL: 'warn',
  }
  const json = (url: string, body: object) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  const first = await startBadge(t, env)
  const email = uniqueEmail('killed')
  t.equal((await json(`${first.url}/v1/users`, { email, password: PASSWORD })).status, 201)
  const forgot = await json(`${first.url}/v1/password/forgot`, { email })
  t.equal(forgot.status, 202, 'SMTP is down, and the request is answered all the same')

  // The failed first attempt proves the message row was committed.
  for (let i = 0; i < 100 && !first.output().includes('"event":"mail.failed"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(first.output(), /"event":"mail\.failed".*ECONNREFUSED/, 'the send failed while SMTP was down')
  const killed = new Promise((resolve) => first.child.once('exit', (_, signal) => resolve(signal)))
  first.child.kill('SIGKILL')
  t.equal(await killed, 'SIGKILL')

  const smtp = await startSmtpServer(t, smtpPort)
  const second = await startBadge(t, env)
  for (let i = 0; i < 600 && smtp.mailsTo(email).length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const mails = smtp.mailsTo(email)
  t.equal(mails.length, 1, 'the reset mail arrived, once')
  t.equal(mails[0]?.subject, 'Reset your password')

  const reset = await json(`${second.url}/v1/password/reset`, {
    token: linkToken(mails[0]!),
    new_password: 'a passphrase set after the crash',
  })
  t.equal(reset.status, 204)
  const login = await fetch(`${second.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      username: email,
      password: 'a passphrase set after the crash',
    }),
  })
  t.equal(login.status, 200, 'the new password logs in')
})
