import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, signUp } from '../helpers/flows.js'

// /docs: the Authorize dialog's OAuth password flow logs in with its defaults (no client
// id, no secret, "Authorization header" as the client credentials location), and "Try it
// out" then calls a protected route with the token it got.

const CHROMIUM = '/usr/bin/chromium'
// CI installs chromium (.ci/run) and must never skip this; a laptop without it may.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is not installed` : false

t.test('the Authorize dialog logs in with the password flow and its defaults', { skip }, async (t) => {
  const { app } = await buildTestApp(t)
  const user = await signUp(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()

  await page.goto(`${origin}/docs`)
  await page.locator('button.authorize').first().click()
  // The oauth2 scheme's password flow: the only form with a username field.
  const flow = page.locator('.auth-container', { has: page.locator('#oauth_username') })
  await flow.locator('#oauth_username').fill(user.email)
  await flow.locator('#oauth_password').fill(PASSWORD)
  const tokenResponse = page.waitForResponse((r) => r.url() === `${origin}/oauth/token`)
  await flow.locator('button.authorize').click()
  const response = await tokenResponse
  t.equal(response.status(), 200, 'the token request succeeded')
  // Once authorized, the flow's form is replaced by a Logout button.
  await page.getByRole('button', { name: 'Remove authorization' }).first().waitFor({ timeout: 10_000 })
  t.pass('the dialog shows the flow as authorized')
  await page.locator('.modal-ux button.close-modal').click()

  // The token the dialog got is sent with "Try it out".
  const me = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/v1/me"]') })
  await me.locator('.opblock-summary').click()
  await me.locator('button.try-out__btn').click()
  const meResponse = page.waitForResponse((r) => r.url() === `${origin}/v1/me`)
  await me.locator('button.execute').click()
  const answered = await meResponse
  t.equal(answered.status(), 200)
  t.equal((await answered.json()).email, user.email)
})

t.test('empty Basic credentials name no client; any other Basic credentials must authenticate', async (t) => {
  const { app } = await buildTestApp(t)
  const user = await signUp(app)
  const login = (authorization: string) =>
    app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { authorization },
      payload: { grant_type: 'password', username: user.email, password: PASSWORD },
    })
  const empty = await login(`Basic ${Buffer.from(':').toString('base64')}`)
  t.equal(empty.statusCode, 200, 'what Swagger UI sends by default is a public login')
  t.equal(empty.json().scope, 'profile:read profile:write')
  for (const credentials of ['badge:', ':secret', 'unknown:secret']) {
    const res = await login(`Basic ${Buffer.from(credentials).toString('base64')}`)
    t.equal(res.statusCode, 401, credentials)
    t.equal(res.json().error, 'invalid_client')
  }
})
