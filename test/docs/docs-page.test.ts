import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

// GET /docs: interactive documentation that works with no network but Badge itself.

const CHROMIUM = '/usr/bin/chromium'
// CI installs chromium (.ci/run) and must never skip this; a laptop without it may.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is not installed` : false

t.test('the docs page and its assets come from Badge itself, under a CSP only /docs gets', async (t) => {
  const { app } = await buildTestApp(t)
  const page = await app.inject({ url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  const references = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
  t.ok(references.length >= 4, 'the page loads scripts and styles')
  for (const reference of references)
    t.match(reference, /^\/docs\/static\//, `${reference} is served by Badge`)
  for (const reference of references)
    t.equal((await app.inject({ url: reference })).statusCode, 200, reference)

  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/)
  t.notMatch(csp, /unsafe-inline|unsafe-eval|https?:/, 'nothing inline, nothing remote')
  const api = await app.inject({ url: '/health/live' })
  t.equal(
    api.headers['content-security-policy'],
    "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
    'API responses allow nothing',
  )
})

t.test(
  'in a browser, /docs lists the token endpoint and /v1/me, offline and without CSP errors',
  { skip },
  async (t) => {
    const { app } = await buildTestApp(t)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
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

    await page.goto(`${origin}/docs`)
    const token = page.locator('.opblock-summary-path[data-path="/oauth/token"]')
    await token.waitFor({ timeout: 30_000 })
    t.equal(await token.count(), 1, 'POST /oauth/token is listed')
    t.equal(
      await page.locator('.opblock-summary-path[data-path="/v1/me"]').count(),
      3,
      'GET, PATCH and DELETE /v1/me',
    )
    t.match(await page.locator('.info .title').textContent(), /Badge/)
    // Interactive parts render under the CSP too: an operation's details, the login dialog.
    await token.click()
    await page.locator('.opblock-body').first().waitFor()
    await page.locator('button.authorize').click()
    t.match(
      await page.locator('.modal-ux').textContent(),
      /profile:read/,
      'the oauth2 login offers Badge scopes',
    )

    t.same(
      requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:')),
      [],
      'nothing is fetched from anywhere but Badge',
    )
    t.same(problems, [], 'no console errors (a CSP violation would be one)')
  },
)
