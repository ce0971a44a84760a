import t from 'tap'
import { startDemoServer } from '../../examples/spa/serve.js'
import {
  browserTest,
  logInInDemo,
  openDemo,
  signUpInDemo,
  startBrowserStack,
  waitSignedIn,
  waitSignedOut,
  withClient,
} from '../helpers/browser-stack.js'
import { uniqueEmail } from '../helpers/flows.js'
import { totpCode } from '../helpers/mfa.js'

// Passkeys in a real Chromium (docs/contract.md §10) with the DevTools Protocol's virtual
// authenticator (a platform authenticator with user verification): the demo registers a
// passkey, logs out, logs in with it alone and as the second factor after a password.
// Another page of the same site, which CORS lets call Badge but WEBAUTHN_ORIGINS does
// not list, gets the browser's signature refused by Badge.

t.test('passkeys in Chromium with a virtual authenticator', browserTest, async (t) => {
  let badgeUrl = ''
  const elsewhere = await startDemoServer({ badgeUrl: () => badgeUrl })
  t.teardown(() => elsewhere.close())
  const stack = await startBrowserStack(t, (demoUrl) => ({
    CORS_ORIGINS: `${demoUrl},${elsewhere.url}`,
    WEBAUTHN_ORIGINS: demoUrl,
  }))
  badgeUrl = stack.badgeUrl
  const context = await stack.browser.newContext()
  const page = await stack.newPage(context)
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  const email = uniqueEmail('passkey')
  const session = () => withClient<{ amr: string[]; sub: string }>(page, 'badge.session')

  await t.test('register a passkey from the page', async (t) => {
    await openDemo(page, stack.demoUrl)
    await signUpInDemo(page, email)
    await page.fill('#passkey-name', 'Chromium')
    await page.click('#passkey-add')
    await page.waitForSelector('#passkeys li')
    t.match(await page.textContent('#passkeys li'), /^Chromium \(added /)
    const status = await withClient<{ passkeys: number }>(
      page,
      `(await badge.fetch(${JSON.stringify(`${stack.badgeUrl}/v1/me/mfa`)})).json()`,
    )
    t.equal(status.passkeys, 1)
  })

  await t.test('log out, then log in with the passkey alone: amr hwk, user, mfa', async (t) => {
    await page.click('#logout')
    await waitSignedOut(page)
    await page.click('#passkey-login')
    await waitSignedIn(page, email)
    t.same((await session()).amr, ['hwk', 'user', 'mfa'])
    const login = stack.requests.findLast((r) => r.path === '/oauth/token')
    t.equal(login?.status, 200)
  })

  await t.test('a password login asks for the second factor, and the passkey gives it', async (t) => {
    await page.click('#logout')
    await waitSignedOut(page)
    await page.fill('#login-email', email)
    await page.fill('#login-password', 'correct horse battery staple')
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#mfa-form:not([hidden])')
    t.ok(await page.isVisible('#mfa-passkey'), 'the passkey is offered as a second factor')
    await page.click('#mfa-passkey')
    await waitSignedIn(page, email)
    t.same((await session()).amr, ['pwd', 'hwk', 'user', 'mfa'])
  })

  await t.test('a page on an origin not in WEBAUTHN_ORIGINS is refused', async (t) => {
    await page.click('#logout')
    await waitSignedOut(page)
    await openDemo(page, elsewhere.url)
    await page.click('#passkey-login')
    await page
      .locator('#message')
      .filter({ hasText: /invalid/ })
      .waitFor()
    t.equal(await page.isVisible('#signed-in'), false)
    const refused = stack.requests.findLast((r) => r.path === '/oauth/token')
    t.same(
      { status: refused?.status, error: refused?.error, origin: refused?.origin },
      { status: 400, error: 'invalid_grant', origin: elsewhere.url },
      'the browser signed for the other origin; Badge refused it',
    )
    // The listed origin still works with the same passkey.
    await openDemo(page, stack.demoUrl)
    await page.click('#passkey-login')
    await waitSignedIn(page, email)
  })

  await t.test('the password login without a second factor still works for other users', async (t) => {
    const other = uniqueEmail('plain')
    await page.click('#logout')
    await waitSignedOut(page)
    await signUpInDemo(page, other)
    await page.click('#logout')
    await waitSignedOut(page)
    await logInInDemo(page, other)
    t.same((await session()).amr, ['pwd'])
  })

  await t.test('a TOTP user is asked for a code, and the code finishes the login', async (t) => {
    const lin = uniqueEmail('totp')
    await page.click('#logout')
    await waitSignedOut(page)
    await signUpInDemo(page, lin)
    const call = (path: string, body: object) =>
      withClient<Record<string, unknown>>(
        page,
        `(await badge.fetch(${JSON.stringify(`${stack.badgeUrl}${path}`)}, { method: 'POST',
          headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(JSON.stringify(body))} })).json()`,
      )
    const { secret } = (await call('/v1/me/mfa/totp', {
      current_password: 'correct horse battery staple',
    })) as {
      secret: string
    }
    const now = () => Date.now()
    await call('/v1/me/mfa/totp/confirm', { code: totpCode(secret, now) })
    await page.click('#logout')
    await waitSignedOut(page)
    await page.fill('#login-email', lin)
    await page.fill('#login-password', 'correct horse battery staple')
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#mfa-form:not([hidden])')
    t.equal(await page.isVisible('#mfa-passkey'), false, 'no passkey offered to a user without one')
    // The confirmation spent this step's code: the next step's is accepted (one step of drift).
    await page.fill('#mfa-code', totpCode(secret, now, 1))
    await page.click('#mfa-form button[type=submit]')
    await waitSignedIn(page, lin)
    t.same((await session()).amr, ['pwd', 'otp', 'mfa'])
  })
})
