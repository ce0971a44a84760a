import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import {
  browserTest,
  openDemo,
  signUpInDemo,
  startBrowserStack,
  withClient,
} from '../helpers/browser-stack.js'
import { uniqueEmail } from '../helpers/flows.js'

// (e) A logged-in user visits a hostile page on another site (http://127.0.0.1:PORT
// vs the app's http://localhost:PORT). It tries every way a page can make the browser
// call Badge: form posts (which need no CORS) and credentialed fetches, against the
// refresh and revoke endpoints, plus a login CSRF. All are refused, and the user's
// session is intact. Run with COOKIE_SAMESITE=Strict, where the browser withholds the
// cookie, and with None, where the browser sends it on the form posts and only the
// CSRF guard (Origin, X-Badge-CSRF) stands in the way.

async function hostileOrigin(t: Test): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Win a prize</title>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Submits a cross-site form post, as a hostile page would, and returns Badge's answer. */
async function formPost(page: Page, hostile: string, action: string, fields: Record<string, string>) {
  await page.goto(hostile)
  const submit = `(() => {
    const form = document.createElement('form')
    form.method = 'POST'
    form.action = ${JSON.stringify(action)}
    for (const [name, value] of Object.entries(${JSON.stringify(fields)})) {
      const input = document.createElement('input')
      input.name = name
      input.value = value
      form.append(input)
    }
    document.body.append(form)
    form.submit()
  })()`
  const [response] = await Promise.all([page.waitForNavigation(), page.evaluate(submit)])
  return { status: response!.status(), body: JSON.parse(await response!.text()) }
}

/** Runs a credentialed fetch from the hostile page; what the page could read of the answer. */
function hostileFetch(page: Page, url: string, init: string): Promise<string> {
  return page.evaluate(`fetch(${JSON.stringify(url)}, ${init})
    .then((r) => r.type === 'opaque' ? 'opaque' : 'readable ' + r.status)
    .catch(() => 'blocked')`) as Promise<string>
}

for (const sameSite of ['Strict', 'None'] as const) {
  t.test(
    `a hostile page cannot use the refresh cookie (COOKIE_SAMESITE=${sameSite})`,
    browserTest,
    async (t) => {
      const stack = await startBrowserStack(t, { COOKIE_SAMESITE: sameSite })
      const hostile = await hostileOrigin(t)
      const context = await stack.browser.newContext()
      const app = await stack.newPage(context)
      await openDemo(app, stack.demoUrl)
      await signUpInDemo(app, uniqueEmail('victim'))
      const { sid } = await withClient<{ sid: string }>(app, 'badge.session')
      const attacker = await stack.newPage(context)
      const token = `${stack.badgeUrl}/oauth/token`
      const revoke = `${stack.badgeUrl}/oauth/revoke`
      // What the browser does with the cookie on a cross-site form post decides the answer.
      const formRefusal =
        sameSite === 'Strict'
          ? { status: 400, error: 'invalid_request' } // the browser withheld the cookie
          : { status: 403, error: 'csrf_rejected' } // the cookie went along; the guard refused

      await t.test('form posts to /oauth/token and /oauth/revoke are refused', async (t) => {
        const refresh = await formPost(attacker, hostile, token, { grant_type: 'refresh_token' })
        t.match(refresh, { status: formRefusal.status, body: { error: formRefusal.error } })
        const logout = await formPost(attacker, hostile, revoke, {})
        t.match(logout, { status: formRefusal.status, body: { error: formRefusal.error } })
      })

      await t.test('a login CSRF form post (signing the victim into my account) is refused', async (t) => {
        const login = await formPost(attacker, hostile, token, {
          grant_type: 'password',
          username: 'attacker@example.com',
          password: 'attacker password',
          refresh_token_delivery: 'cookie',
        })
        t.same(login, {
          status: 403,
          body: {
            error: 'csrf_rejected',
            error_description: 'This origin may not use the refresh-token cookie: it is not in CORS_ORIGINS.',
          },
        })
      })

      await t.test('credentialed fetches get nothing readable and change nothing', async (t) => {
        await attacker.goto(hostile)
        const form = `headers: { 'content-type': 'application/x-www-form-urlencoded' }`
        const attempts = [
          [token, `{ method: 'POST', credentials: 'include', ${form}, body: 'grant_type=refresh_token' }`],
          [
            token,
            `{ method: 'POST', credentials: 'include', mode: 'no-cors', body: new URLSearchParams({ grant_type: 'refresh_token' }) }`,
          ],
          [
            token,
            `{ method: 'POST', credentials: 'include', headers: { 'x-badge-csrf': '1' }, body: new URLSearchParams({ grant_type: 'refresh_token' }) }`,
          ],
          [revoke, `{ method: 'POST', credentials: 'include', ${form}, body: '' }`],
          [revoke, `{ method: 'POST', credentials: 'include', mode: 'no-cors', body: '' }`],
          [revoke, `{ method: 'POST', credentials: 'include', headers: { 'x-badge-csrf': '1' }, body: '' }`],
        ] as const
        const seen = []
        for (const [url, init] of attempts) seen.push(await hostileFetch(attacker, url, init))
        // Plain CORS refuses the readable ones; Cross-Origin-Resource-Policy (helmet) the
        // no-cors ones; the preflight the ones with X-Badge-CSRF.
        t.same(seen, ['blocked', 'blocked', 'blocked', 'blocked', 'blocked', 'blocked'])
      })

      await t.test('Badge answered the hostile origin with refusals only', async (t) => {
        const fromHostile = stack.requests.filter((r) => r.origin === hostile)
        const posts = fromHostile.filter((r) => r.method === 'POST')
        t.equal(posts.length, 3 + 4, 'the form posts and the four simple fetches reached Badge')
        t.same(
          posts.filter((r) => r.status < 400),
          [],
          'none succeeded',
        )
        const preflights = fromHostile.filter((r) => r.method === 'OPTIONS')
        t.same(
          preflights.map((r) => r.status),
          [404, 404],
          'fetches with X-Badge-CSRF died at the preflight',
        )
      })

      await t.test("the victim's session is intact", async (t) => {
        const session = await withClient<{ sid: string } | null>(app, 'badge.refresh()')
        t.equal(session?.sid, sid)
        const row = await stack.database.db
          .selectFrom('sessions')
          .select('revoked_at')
          .where('id', '=', sid)
          .executeTakeFirstOrThrow()
        t.equal(row.revoked_at, null)
      })
    },
  )
}
