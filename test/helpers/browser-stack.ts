import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { startDemoServer } from '../../examples/spa/serve.js'
import { buildApp } from '../../src/app.js'
import { type Env, loadConfig } from '../../src/config.js'
import type { BadgeDatabase } from '../../src/db/index.js'
import { TEST_ENV } from './app.js'
import { dialects, openTestDatabase } from './databases.js'

// Real Badge + the demo SPA on its own origin + Debian's Chromium, for the browser
// tests. Badge runs on the real clock (reuse detection depends on time passing) and
// listens on 127.0.0.1; the browser reaches it as http://localhost:PORT, the demo as
// http://localhost:PORT2 (the same site), and a hostile page as http://127.0.0.1:PORT3
// (another site).

export const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/**
 * Options for a browser test: locally, a missing Chromium skips it with the reason;
 * in CI (CI=true) it runs and fails in startBrowserStack, since .ci/run installs it.
 */
export const browserTest = {
  skip:
    !existsSync(CHROMIUM) && !process.env.CI
      ? `${CHROMIUM} is missing: apt-get install -y chromium to run the browser tests`
      : false,
  timeout: 90_000,
}

export interface RequestRecord {
  method: string
  path: string
  status: number
  origin: string | undefined
  error: string | undefined
}

export interface BrowserStack {
  badge: FastifyInstance
  badgeUrl: string
  demoUrl: string
  database: BadgeDatabase
  browser: Browser
  /** Every request Badge answered, oldest first. */
  requests: RequestRecord[]
  /** Most /oauth/token requests Badge was serving at one moment. */
  maxConcurrentTokenRequests(): number
  newPage(context?: BrowserContext): Promise<Page>
}

/** `env` overrides the test environment; as a function it is given the demo's URL. */
export async function startBrowserStack(
  t: Test,
  env: Env | ((demoUrl: string) => Env) = {},
): Promise<BrowserStack> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run must install chromium`)
  let badgeUrl = ''
  const demo = await startDemoServer({ badgeUrl: () => badgeUrl })
  t.teardown(() => demo.close())

  const database = await openTestDatabase(t, dialects[0]!)
  const config = loadConfig({
    ...TEST_ENV,
    ISSUER: 'http://localhost',
    CORS_ORIGINS: demo.url,
    ...(typeof env === 'function' ? env(demo.url) : env),
    DATABASE_URL: database.url,
  })
  const badge = await buildApp(config, { database })
  t.teardown(() => badge.close())

  const requests: RequestRecord[] = []
  let inFlight = 0
  let maxInFlight = 0
  const isToken = (url: string) => url.startsWith('/oauth/token')
  badge.addHook('onRequest', async (request) => {
    if (request.method === 'POST' && isToken(request.url)) maxInFlight = Math.max(maxInFlight, ++inFlight)
  })
  badge.addHook('onSend', async (request, reply, payload) => {
    const error =
      reply.statusCode >= 400 && typeof payload === 'string' ? JSON.parse(payload).error : undefined
    requests.push({
      method: request.method,
      path: request.url.split('?')[0]!,
      status: reply.statusCode,
      origin: request.headers.origin,
      error,
    })
    return payload
  })
  badge.addHook('onResponse', async (request) => {
    if (request.method === 'POST' && isToken(request.url)) inFlight--
  })
  // An ISSUER with a port (DPoP proofs name Badge's URI exactly) is where Badge listens.
  await badge.listen({ port: Number(new URL(config.issuer).port || 0), host: '127.0.0.1' })
  badgeUrl = `http://localhost:${(badge.server.address() as AddressInfo).port}`

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())

  return {
    badge,
    badgeUrl,
    demoUrl: demo.url,
    database,
    browser,
    requests,
    maxConcurrentTokenRequests: () => maxInFlight,
    async newPage(context) {
      const page = await (context ?? (await browser.newContext())).newPage()
      page.setDefaultTimeout(15_000)
      page.on('pageerror', (error) => t.fail(`page error: ${error.message}`))
      return page
    },
  }
}

// The demo's UI, as a person uses it.

export const DEMO_PASSWORD = 'correct horse battery staple'

export async function openDemo(page: Page, demoUrl: string): Promise<void> {
  await page.goto(demoUrl)
  await page.waitForSelector('#signed-in:not([hidden]), #signed-out:not([hidden])')
}

export async function signUpInDemo(page: Page, email: string, name = 'Ada'): Promise<void> {
  await page.fill('#signup-name', name)
  await page.fill('#signup-email', email)
  await page.fill('#signup-password', DEMO_PASSWORD)
  await page.click('#signup-form button[type=submit]')
  await waitSignedIn(page, email)
}

export async function logInInDemo(page: Page, email: string): Promise<void> {
  await page.fill('#login-email', email)
  await page.fill('#login-password', DEMO_PASSWORD)
  await page.click('#login-form button[type=submit]')
  await waitSignedIn(page, email)
}

export async function waitSignedIn(page: Page, email: string): Promise<void> {
  await page.waitForSelector('#signed-in:not([hidden])')
  // Locator waits, not waitForFunction: the demo's CSP forbids the eval that polling needs.
  const exactly = new RegExp(`^${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  await page.locator('#profile-email').filter({ hasText: exactly }).waitFor()
}

export async function waitSignedOut(page: Page): Promise<void> {
  await page.waitForSelector('#signed-out:not([hidden])')
}

// Code run in the page is written as strings: the test project has no DOM typings.

/** Everything a script on the page can find in Web Storage and IndexedDB. */
export function storageContents(page: Page) {
  return page.evaluate(`(async () => ({
    localStorage: Object.entries(localStorage),
    sessionStorage: Object.entries(sessionStorage),
    indexedDB: (await indexedDB.databases()).map((d) => d.name),
  }))()`) as Promise<{ localStorage: string[][]; sessionStorage: string[][]; indexedDB: string[] }>
}

/** What the page's scripts see of its cookies. */
export function documentCookie(page: Page): Promise<string> {
  return page.evaluate('document.cookie') as Promise<string>
}

/** Runs `expression` (using the demo's `badge` client) in the page and returns its result. */
export function withClient<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(async (badge) => ${expression})(globalThis.badgeDemo.badge)`) as Promise<T>
}
