import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import {
  type BrowserStack,
  browserTest,
  openDemo,
  signUpInDemo,
  startBrowserStack,
  waitSignedIn,
  waitSignedOut,
  withClient,
} from '../helpers/browser-stack.js'
import { uniqueEmail } from '../helpers/flows.js'

// (c) Two tabs share one refresh cookie. If both refreshed with it at once, one of
// them would present a spent token. Here the grace window is 0, so any such race
// would count as reuse and revoke the session: the client's cross-tab lock is all
// that keeps it alive. Run with Web Locks, and again with only BroadcastChannel.

interface Session {
  sid: string
}

/** Both tabs call badge.refresh() at the same wall-clock moment. */
async function refreshTogether(tabs: Page[]): Promise<(Session | null)[]> {
  const at = Date.now() + 300
  return Promise.all(
    tabs.map((tab) =>
      withClient<Session | null>(
        tab,
        `new Promise((r) => setTimeout(r, ${at} - Date.now())).then(() => badge.refresh())`,
      ),
    ),
  )
}

async function twoTabs(stack: BrowserStack, initScript?: string) {
  const context = await stack.browser.newContext()
  if (initScript) await context.addInitScript(initScript)
  const first = await stack.newPage(context)
  const email = uniqueEmail('tabs')
  await openDemo(first, stack.demoUrl)
  await signUpInDemo(first, email)
  const second = await stack.newPage(context)
  await openDemo(second, stack.demoUrl)
  await waitSignedIn(second, email)
  return { context, first, second, email }
}

async function raceAndCheck(t: Test, stack: BrowserStack, tabs: Page[], email: string) {
  const before = stack.requests.length
  const sids = new Set<string>()
  for (let round = 0; round < 5; round++) {
    const sessions = await refreshTogether(tabs)
    for (const session of sessions) {
      t.ok(session, `round ${round}: refreshed`)
      if (session) sids.add(session.sid)
    }
  }
  // Several refreshes inside one tab at once share a single request.
  await withClient(tabs[0]!, 'Promise.all([badge.refresh(), badge.refresh(), badge.refresh()])')

  const tokenCalls = stack.requests.slice(before).filter((r) => r.path === '/oauth/token')
  t.same(new Set(tokenCalls.map((r) => r.status)), new Set([200]), 'every refresh succeeded')
  t.equal(tokenCalls.length, 11, 'one request per tab per round, plus one for the burst')
  t.equal(stack.maxConcurrentTokenRequests(), 1, 'never two refreshes in flight at once')
  t.equal(sids.size, 1, 'both tabs stay on the one session')

  const sid = [...sids][0]!
  const row = await stack.database.db
    .selectFrom('sessions')
    .select('revoked_at')
    .where('id', '=', sid)
    .executeTakeFirstOrThrow()
  t.equal(row.revoked_at, null, 'the session is not revoked')
  for (const tab of tabs) {
    const status = await withClient(tab, `badge.fetch('${stack.badgeUrl}/v1/me').then((r) => r.status)`)
    t.equal(status, 200, 'the tab can still call the API')
    await tab.reload()
    await waitSignedIn(tab, email)
  }
}

t.test('two tabs refreshing at once', browserTest, async (t) => {
  const stack = await startBrowserStack(t, { REFRESH_REUSE_GRACE_SECONDS: '0' })

  await t.test('(c) with Web Locks both stay logged in and the session survives', async (t) => {
    const { first, second, email } = await twoTabs(stack)
    t.equal(await first.evaluate('typeof navigator.locks.request'), 'function')
    await raceAndCheck(t, stack, [first, second], email)

    // Logging out in one tab logs out the other.
    await first.click('#logout')
    await waitSignedOut(first)
    await waitSignedOut(second)
  })

  await t.test('(c) without Web Locks the BroadcastChannel lock does the same', async (t) => {
    const noLocks = `Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true })`
    const { first, second, email } = await twoTabs(stack, noLocks)
    t.equal(await first.evaluate('navigator.locks'), undefined)
    await raceAndCheck(t, stack, [first, second], email)
  })
})
