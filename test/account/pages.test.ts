import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { PASSWORD, passwordGrant, uniqueEmail } from '../helpers/flows.js'
import { freePort } from '../helpers/net.js'
import { deliverMail, type ReceivedMail, startSmtpServer } from '../helpers/smtp.js'

// GET /account/verify-email and /account/reset-password (docs/account.md, "Built-in
// pages"): static, same-origin only, and working in a real browser from the mailed link.

const CHROMIUM = '/usr/bin/chromium'
// CI installs chromium (.ci/run) and must never skip this; a laptop without it may.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is not installed` : false

t.test('the pages and their assets come from Badge, under a strict CSP of their own', async (t) => {
  const { app } = await buildTestApp(t)
  for (const url of ['/account/verify-email', '/account/reset-password']) {
    const page = await app.inject({ url })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    const references = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    t.same(references.sort(), ['/account/pages.css', '/account/pages.js'])
    t.notMatch(page.body, /<script>|<style>|\sstyle="|\son[a-z]+="/, 'nothing inline')
    const csp = String(page.headers['content-security-policy'])
    t.match(csp, /default-src 'none'/)
    t.match(csp, /script-src 'self'/)
    t.match(csp, /connect-src 'self'/)
    t.match(csp, /frame-ancestors 'none'/)
    t.notMatch(csp, /unsafe-inline|unsafe-eval|https?:/)
    t.equal(page.headers['referrer-policy'], 'no-referrer')
  }
  for (const [url, type] of [
    ['/account/pages.js', /^text\/javascript/],
    ['/account/pages.css', /^text\/css/],
  ] as const) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], type)
  }
})

t.test(
  'in Chromium, a user clicks the mailed links: verifies, resets, and logs in with the new password',
  { skip },
  async (t) => {
    await eachDialect(t, async (t, dialect) => {
      const smtp = await startSmtpServer(t)
      const port = await freePort()
      const origin = `http://127.0.0.1:${port}`
      const { app } = await buildTestApp(t, { MAIL_URL: smtp.url, ISSUER: origin }, dialect)
      await app.listen({ port, host: '127.0.0.1' })
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
      })
      t.teardown(() => browser.close())
      const page = await browser.newPage()
      const requested: string[] = []
      const problems: string[] = []
      page.on('request', (request) => requested.push(request.url()))
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
      })
      page.on('pageerror', (error) => problems.push(error.message))
      const linkIn = (mail: ReceivedMail, path: string) => {
        const match = new RegExp(`${origin}${path}#token=[A-Za-z0-9_-]{43}`).exec(mail.decoded)
        if (!match) throw new Error(`no ${path} link in ${mail.decoded.slice(0, 500)}`)
        return match[0]
      }

      const email = uniqueEmail('browser')
      const signup = await app.inject({
        method: 'POST',
        url: '/v1/users',
        payload: { email, password: PASSWORD },
      })
      t.equal(signup.statusCode, 201)
      await deliverMail(app)
      const verifyLink = linkIn(smtp.mailsTo(email)[0]!, '/account/verify-email')

      await page.goto(verifyLink)
      await page.getByText('Your email address is verified').waitFor({ timeout: 30_000 })
      t.notMatch(page.url(), /token/, 'the token left the address bar')

      // The same link again: a clear error, not a success.
      await page.goto(verifyLink)
      await page.getByText('This link is invalid, has already been used or has expired').waitFor()

      const forgot = await app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email } })
      t.equal(forgot.statusCode, 202)
      await deliverMail(app)
      const resetMail = smtp.mailsTo(email).find((m) => m.subject === 'Reset your password')!
      await page.goto(linkIn(resetMail, '/account/reset-password'))
      await page.fill('#password', 'chosen in the browser')
      await page.fill('#confirm', 'chosen in the browser!')
      await page.click('#submit')
      await page.getByText('The two passwords do not match').waitFor()
      await page.fill('#confirm', 'chosen in the browser')
      await page.click('#submit')
      await page.getByText('Your password has been changed').waitFor({ timeout: 30_000 })

      const login = await passwordGrant(app, { username: email, password: 'chosen in the browser' })
      t.equal(login.statusCode, 200, 'the new password logs in')
      const old = await passwordGrant(app, { username: email, password: PASSWORD })
      t.equal(old.json().error, 'invalid_grant', 'the old one does not')

      t.same(
        requested.filter((url) => !url.startsWith(`${origin}/`)),
        [],
        'nothing is fetched from anywhere but Badge',
      )
      // The browser reports the reused link's 400 as a console error; nothing else may appear.
      t.same(
        problems,
        ['Failed to load resource: the server responded with a status of 400 (Bad Request)'],
        'no other console errors (a CSP violation would be one)',
      )
    })
  },
)
