import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/flows.js'
import { accessTokenHeader, serverKey } from '../helpers/forge.js'
import { freePort } from '../helpers/server.js'

// The README's "Verifying tokens in another service" snippets, verbatim but for Badge's
// address: the `jose` verify() and the @fastify/jwt service. Each runs against a live
// Badge (listening on loopback, its JWKS fetched over HTTP), accepts Badge's access
// tokens, and rejects tokens signed with Badge's own key that carry the wrong iss, aud
// or typ, that have expired, or whose algorithm is not the key's (alg confusion, none).

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
// Written inside the checkout (git-ignored), so the snippets' imports resolve to node_modules.
const SNIPPETS = new URL('../../test-results/readme-snippets/', import.meta.url)

/** The first ```ts block after `heading`, as a module file with Badge's address replaced. */
async function importSnippet(heading: string, name: string, badgeUrl: string) {
  const section = README.slice(README.indexOf(heading))
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  if (!code) throw new Error(`no ts block after ${heading}`)
  mkdirSync(SNIPPETS, { recursive: true })
  const file = new URL(`${name}.ts`, SNIPPETS)
  writeFileSync(file, code.replaceAll('http://localhost:3000', badgeUrl))
  return import(`${file.href}?${randomUUID()}`)
}

const port = await freePort()
const badgeUrl = `http://127.0.0.1:${port}`
const { app: badge } = await buildTestApp(t, { ISSUER: badgeUrl })
await badge.listen({ port, host: '127.0.0.1' })
const key = await serverKey(badge)

const now = () => Math.floor(Date.now() / 1000)
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: badgeUrl,
  sub: randomUUID(),
  aud: badgeUrl,
  exp: now() + 600,
  iat: now(),
  jti: randomUUID(),
  scope: 'notes:read',
  client_id: 'badge',
  ...overrides,
})
const header = accessTokenHeader(key)
const hostile: Array<[string, string]> = [
  ['another issuer', key.sign(header, claims({ iss: 'http://evil.test' }))],
  ['another audience', key.sign(header, claims({ aud: 'http://other-api.test' }))],
  ['typ JWT, not an access token', key.sign({ ...header, typ: 'JWT' }, claims())],
  ['no typ', key.sign({ alg: key.alg, kid: key.kid }, claims())],
  ['expired', key.sign(header, claims({ exp: now() - 120, iat: now() - 1000 }))],
  [
    'alg none',
    `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`,
  ],
]
const genuine = async (app: FastifyInstance) => (await login(app)).tokens.access_token

t.test('the README jose snippet verifies Badge tokens and rejects wrong ones', async (t) => {
  const { verify } = (await importSnippet('## Verifying tokens in another service', 'jose', badgeUrl)) as {
    verify(authorization: string | undefined): Promise<Record<string, unknown>>
  }
  const token = await genuine(badge)
  const payload = await verify(`Bearer ${token}`)
  t.equal(payload.iss, badgeUrl)
  t.equal(payload.scope, 'profile:read profile:write')
  t.equal(
    (await verify(`Bearer ${key.sign(header, claims())}`)).scope,
    'notes:read',
    'a well-formed forged-by-us token',
  )
  for (const [why, bad] of hostile) await t.rejects(verify(`Bearer ${bad}`), why)
  await t.rejects(verify(undefined), 'no token')
})

t.test('the README @fastify/jwt service verifies Badge tokens and rejects wrong ones', async (t) => {
  const { app } = (await importSnippet('### With `@fastify/jwt`', 'fastify-jwt', badgeUrl)) as {
    app: FastifyInstance
  }
  t.teardown(() => app.close())
  const notes = (token: string) =>
    app.inject({ url: '/notes', headers: { authorization: `Bearer ${token}` } })

  const ok = await notes(key.sign(header, claims({ sub: 'ada' })))
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { owner: 'ada' })
  // A real login: Badge's users hold profile:* here, not notes:read.
  t.equal((await notes(await genuine(badge))).statusCode, 403, 'verified, but without the scope')
  for (const [why, bad] of hostile) t.equal((await notes(bad)).statusCode, 401, why)
  t.equal((await app.inject({ url: '/notes' })).statusCode, 401, 'no token')

  // Badge's public key used as an HMAC secret (alg confusion) never verifies.
  const { createHmac } = await import('node:crypto')
  const input = `${Buffer.from(JSON.stringify({ ...header, alg: 'HS256' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`
  const pem = key.publicKey!.export({ type: 'spki', format: 'pem' })
  const confused = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
  t.equal((await notes(confused)).statusCode, 401, 'HS256 signed with the public key')
})

t.test('both snippets compile under strict TypeScript, as in a reader’s service', async (t) => {
  const files = ['jose.ts', 'fastify-jwt.ts'].map((f) => fileURLToPath(new URL(f, SNIPPETS)))
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
  const args = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck']
  try {
    execFileSync(process.execPath, [tsc, ...args, ...files], { encoding: 'utf8' })
    t.pass('tsc found no error')
  } catch (error) {
    t.fail(String((error as { stdout?: string }).stdout ?? error))
  }
})
