import { mkdirSync } from 'node:fs'
import t from 'tap'
import {
  browserTest,
  documentCookie,
  logInInDemo,
  openDemo,
  signUpInDemo,
  startBrowserStack,
  storageContents,
  waitSignedIn,
  waitSignedOut,
  withClient,
} from '../helpers/browser-stack.js'
import { uniqueEmail } from '../helpers/flows.js'

// The demo SPA in a real Chromium (docs/contract.md §8): a person signs up, logs in, sees
// their sessions, revokes one, reloads, logs out; the refresh token never becomes
// visible to the page and nothing lands in Web Storage.

const COOKIE = '__Secure-badge_rt'

t.test('browser mode in Chromium', browserTest, async (t) => {
  const stack = await startBrowserStack(t)
  const context = await stack.browser.newContext()
  const page = await stack.newPage(context)
  const email = uniqueEmail('ada')

  await t.test('(a) sign up, log in, see the profile and sessions, revoke one, log out', async (t) => {
    await openDemo(page, stack.demoUrl)
    t.equal(await page.textContent('#status'), 'Not logged in')
    await signUpInDemo(page, email)
    t.equal(await page.textContent('#status'), `Logged in as ${email}`)
    t.equal(await page.textContent('#profile-name'), 'Ada')
    t.equal(await page.textContent('#profile-scopes'), 'profile:read profile:write')
    await page.waitForSelector('#sessions tr')
    t.equal(await page.locator('#sessions tr').count(), 1)
    t.match(await page.textContent('#sessions tr'), /\(this one\)/)

    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/spa-after-login.png', fullPage: true })

    // A second device logs in to the same account.
    const laptop = await stack.newPage(await stack.browser.newContext())
    await openDemo(laptop, stack.demoUrl)
    await logInInDemo(laptop, email)

    await page.reload()
    await waitSignedIn(page, email)
    await page.locator('#sessions tr').nth(1).waitFor()
    t.equal(await page.locator('#sessions tr').count(), 2)
    const other = page.locator('#sessions tr:not(.current)')
    await other.locator('button.revoke').click()
    await other.waitFor({ state: 'detached' })
    t.equal(await page.locator('#sessions tr.current').count(), 1, 'this session is the one left')

    // The revoked device finds its session gone on its next refresh.
    await laptop.reload()
    await waitSignedOut(laptop)
    t.equal(await laptop.textContent('#status'), 'Not logged in')

    await page.click('#logout')
    await waitSignedOut(page)
    t.same(
      (await context.cookies()).filter((c) => c.name === COOKIE),
      [],
      'logout clears the cookie',
    )
    await page.reload()
    await waitSignedOut(page)
    t.equal(await page.textContent('#status'), 'Not logged in', 'and a reload does not bring it back')
  })

  await t.test('(b) a reload restores the session without the password', async (t) => {
    await logInInDemo(page, email)
    const before = stack.requests.length
    await page.reload()
    await waitSignedIn(page, email)
    const calls = stack.requests.slice(before).filter((r) => r.path === '/oauth/token')
    t.same(
      calls.map((r) => r.status),
      [200],
      'one cookie refresh, no password grant',
    )
    const tab = await stack.newPage(context)
    await openDemo(tab, stack.demoUrl)
    await waitSignedIn(tab, email)
    await tab.close()
  })

  await t.test("the client's fetch refreshes once on a 401 and retries, without looping", async (t) => {
    const url = `${stack.badgeUrl}/v1/me`
    const unauthorized = {
      status: 401,
      headers: {
        'access-control-allow-origin': stack.demoUrl,
        'access-control-allow-credentials': 'true',
        'www-authenticate': 'Bearer realm="badge", error="invalid_token"',
      },
      contentType: 'application/json',
      body: '{"error":"invalid_token","error_description":"The access token has expired."}',
    }
    const calls = (since: number) =>
      stack.requests.slice(since).map((r) => `${r.method} ${r.path} ${r.status}`)

    let answered401 = 0
    await page.route(url, (route) => (answered401++ ? route.continue() : route.fulfill(unauthorized)))
    let since = stack.requests.length
    t.equal(await withClient(page, `badge.fetch('${url}').then((r) => r.status)`), 200)
    t.same(calls(since), ['POST /oauth/token 200', 'GET /v1/me 200'], 'one refresh, one retry')
    await page.unroute(url)

    await page.route(url, (route) => route.fulfill(unauthorized))
    since = stack.requests.length
    t.equal(await withClient(page, `badge.fetch('${url}').then((r) => r.status)`), 401)
    t.same(calls(since), ['POST /oauth/token 200'], 'a second 401 is returned, not retried')
    await page.unroute(url)
  })

  await t.test('(d) no script can see the refresh token, and no token lands in storage', async (t) => {
    const [cookie] = (await context.cookies()).filter((c) => c.name === COOKIE)
    t.ok(cookie, 'the browser holds the refresh cookie')
    t.match(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/oauth' })
    t.equal(await documentCookie(page), '', 'the demo page sees no cookie')

    // Cookies ignore ports: a page under /oauth on the demo's host, or on Badge's own
    // origin, would see the cookie in document.cookie if it were not HttpOnly.
    const probe = await stack.newPage(context)
    for (const url of [`${stack.demoUrl}/oauth/probe`, `${stack.badgeUrl}/oauth/probe`]) {
      await probe.goto(url)
      t.notMatch(await documentCookie(probe), cookie!.value, url)
      t.notMatch(await documentCookie(probe), COOKIE, url)
    }
    await probe.close()

    // Use the session a while: a refresh, an API call, a reload.
    await page.evaluate('globalThis.badgeDemo.badge.refresh()')
    await page.reload()
    await waitSignedIn(page, email)
    t.same(await storageContents(page), { localStorage: [], sessionStorage: [], indexedDB: [] })
  })

  await t.test('(a) log out everywhere ends every session and clears the cookie', async (t) => {
    const phone = await stack.newPage(await stack.browser.newContext())
    await openDemo(phone, stack.demoUrl)
    await logInInDemo(phone, email)
    await page.click('#logout-everywhere')
    await waitSignedOut(page)
    t.same(
      (await context.cookies()).filter((c) => c.name === COOKIE),
      [],
      'the cookie is cleared',
    )
    await phone.reload()
    await waitSignedOut(phone)
    t.equal(await phone.textContent('#status'), 'Not logged in', 'the other device is logged out too')
  })
})
