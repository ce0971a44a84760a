import t from 'tap'
import { browserTest, startBrowserStack } from '../helpers/browser-stack.js'
import { uniqueEmail } from '../helpers/flows.js'
import { freePort } from '../helpers/server.js'

// The SPA client with `dpop: true` in a real Chromium (docs/dpop.md): its WebCrypto key
// is not extractable, lives in IndexedDB, and binds the tokens it gets; it calls a
// protected route with DPoP proofs, and refreshes its bound session with them.

const PASSWORD = 'correct horse battery staple'
/** The client as the demo serves it (a variable, so the import is the page's, not TypeScript's). */
const CLIENT = '/badge-client.js'

for (const nonce of [false, true]) {
  t.test(
    `the SPA client obtains and uses DPoP-bound tokens (DPOP_NONCE=${nonce})`,
    browserTest,
    async (t) => {
      const port = await freePort()
      const stack = await startBrowserStack(t, {
        ISSUER: `http://localhost:${port}`,
        DPOP_NONCE: String(nonce),
      })
      t.equal(stack.badgeUrl, `http://localhost:${port}`)
      const page = await stack.newPage()
      // A page of the demo's origin without the demo app, whose own (non-DPoP) client would
      // otherwise join in on the shared cookie session.
      await page.goto(`${stack.demoUrl}/style.css`)
      const email = uniqueEmail('dpop-spa')
      const result = await page.evaluate(
        async ({ issuer, email, password, client }) => {
          const { BadgeClient, loadDpopKey } = await import(client)
          const badge = new BadgeClient({ issuer, dpop: true })
          await badge.signUp({ email, password })
          const session = await badge.login(email, password)
          const me = await badge.fetch(`${issuer}/v1/me`)
          const meBody = await me.json()
          const refreshed = await badge.refresh()
          const again = await badge.fetch(`${issuer}/v1/me`)
          const pair = await loadDpopKey(issuer)
          const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
            () => 'exported',
            (error: Error) => error.name,
          )
          return {
            jkt: session.jkt,
            meStatus: me.status,
            email: meBody.email,
            refreshedJkt: refreshed?.jkt,
            againStatus: again.status,
            extractable: pair.privateKey.extractable,
            exported,
          }
        },
        { issuer: stack.badgeUrl, email, password: PASSWORD, client: CLIENT },
      )
      t.match(result.jkt, /^[A-Za-z0-9_-]{43}$/, 'the access token is bound to a key (cnf.jkt)')
      t.equal(result.meStatus, 200, 'a protected route accepts the DPoP request')
      t.equal(result.email, email)
      t.equal(result.refreshedJkt, result.jkt, 'the bound session refreshes with the same key')
      t.equal(result.againStatus, 200)
      t.equal(result.extractable, false, 'the private key is not extractable')
      t.equal(result.exported, 'InvalidAccessError', 'exporting it fails')

      // The key survives a reload: a new client on the same page finds the same key.
      await page.reload()
      const jktAfterReload = await page.evaluate(
        async ({ issuer, client }) => {
          const { BadgeClient } = await import(client)
          const badge = new BadgeClient({ issuer, dpop: true })
          return (await badge.restore())?.jkt
        },
        { issuer: stack.badgeUrl, client: CLIENT },
      )
      t.equal(jktAfterReload, result.jkt, 'after a reload the cookie refresh is proven with the stored key')

      const protectedCalls = stack.requests.filter((r) => r.method === 'GET' && r.path === '/v1/me')
      t.equal(protectedCalls.filter((r) => r.status === 200).length, 2, 'both calls succeeded')
      t.ok(
        protectedCalls.every((r) => r.status === 200 || (nonce && r.error === 'use_dpop_nonce')),
        'no call was refused for any other reason',
      )
      if (nonce)
        t.ok(
          stack.requests.some((r) => r.error === 'use_dpop_nonce'),
          'Badge asked for a nonce, and the client retried',
        )
    },
  )
}
