import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/index.js'
import { eachDialect, TEST_ENV } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import type { TestDialect } from '../helpers/databases.js'
import { login, PASSWORD, passwordGrant } from '../helpers/flows.js'
import { decode } from '../helpers/forge.js'

// Two Badge deployments sharing one database (so one signing key) but configured
// with different issuers or audiences: a token signed by the very same key must not
// cross from one to the other. The signature is fine; iss or aud is not.

/** A database two instances can open at once: a SQLite file in a temp dir, or a fresh PostgreSQL database. */
async function sharedDatabaseUrl(t: Test, dialect: TestDialect): Promise<string> {
  if (dialect.name === 'postgres') {
    const { url, drop } = await dialect.create()
    t.teardown(drop)
    return url
  }
  const dir = mkdtempSync(join(tmpdir(), 'badge-iss-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite:${join(dir, 'badge.db')}`
}

async function instance(t: Test, url: string, env: Record<string, string>) {
  const database = createDatabase({ url, poolMax: 2 })
  const app = await buildApp(loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: url }), { database })
  // Registered after the URL's teardown, so it runs first: close, then drop.
  t.teardown(async () => {
    await app.close()
    await database.close()
  })
  return app
}

await eachDialect(t, async (t, dialect) => {
  const url = await sharedDatabaseUrl(t, dialect)
  const badge = await instance(t, url, { ISSUER: 'http://badge.test' })
  const other = await instance(t, url, { ISSUER: 'http://other.test' })
  const api = await instance(t, url, { ISSUER: 'http://badge.test', AUDIENCE: 'http://api.other.test' })

  const { user } = await login(badge)
  const tokenFor = async (app: typeof badge) => {
    const res = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(res.statusCode, 200)
    return res.json().access_token as string
  }
  const fromBadge = await tokenFor(badge)
  const fromOther = await tokenFor(other)
  const forApi = await tokenFor(api)

  t.equal(decode(fromOther).header.kid, decode(fromBadge).header.kid, 'both instances sign with the same key')
  t.equal(decode(forApi).header.kid, decode(fromBadge).header.kid)

  await t.test('a token of another issuer, signed by the shared key, is 401 invalid_token', async (t) => {
    t.equal(decode(fromOther).payload.iss, 'http://other.test')
    await expectAccepted(t, other, fromOther, 'at its own issuer')
    await expectInvalidToken(t, badge, fromOther, 'other.test token at badge.test')
    await expectInvalidToken(t, other, fromBadge, 'badge.test token at other.test')
  })

  await t.test('a token for another audience, signed by the shared key, is 401 invalid_token', async (t) => {
    t.same(
      [decode(forApi).payload.iss, decode(forApi).payload.aud],
      ['http://badge.test', 'http://api.other.test'],
    )
    await expectAccepted(t, api, forApi, 'at its own audience')
    await expectInvalidToken(t, badge, forApi, 'token for api.other.test at badge.test')
    await expectInvalidToken(t, api, fromBadge, 'token for badge.test at api.other.test')
  })
})
