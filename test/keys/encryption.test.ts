import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { BadgeDatabase } from '../../src/db/index.js'
import { KeyDecryptionError } from '../../src/keys/encryption.js'
import { buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { login } from '../helpers/flows.js'
import { claimsStatus, kidOf } from '../helpers/keys.js'

const SECRET = 'a long and random key encryption secret'
const WRONG = 'not the secret the keys were sealed with'

const keyRows = (database: BadgeDatabase) =>
  database.db.selectFrom('signing_keys').selectAll().orderBy('kid').execute()

/** Another instance on the same database, started with `env`. */
async function startOn(t: Test, database: BadgeDatabase & { url: string }, env: Record<string, string>) {
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: database.url })
  const app = await buildApp(config, { database, clock: testClock() })
  t.teardown(() => app.close())
  return app
}

await eachDialect(t, async (t, dialect) => {
  await t.test('with KEY_ENCRYPTION_SECRET private keys are stored sealed, never as a JWK', async (t) => {
    const { app, database } = await buildTestApp(t, { KEY_ENCRYPTION_SECRET: SECRET }, dialect)
    await app.services.keys.rotate('RS256')
    await app.services.keys.rotate('HS256')
    const rows = await keyRows(database)
    t.equal(rows.length, 3)
    for (const row of rows) {
      t.match(row.private_jwk, /^enc:v1:[A-Za-z0-9_-]+$/, `${row.alg} private key is sealed`)
      t.notOk('d' in JSON.parse(row.public_jwk), `${row.alg} public JWK has no private member`)
    }
    t.equal(await claimsStatus(app, (await login(app)).tokens.access_token), 200, 'and tokens are signed')
  })

  await t.test('starting with the wrong secret fails with one clear error and changes no key', async (t) => {
    const { app, database } = await buildTestApp(t, { KEY_ENCRYPTION_SECRET: SECRET }, dialect)
    const { tokens } = await login(app)
    const before = await keyRows(database)

    const failure = await startOn(t, database, { KEY_ENCRYPTION_SECRET: WRONG }).catch((e: unknown) => e)
    t.type(failure, KeyDecryptionError)
    t.equal(
      (failure as Error).message,
      `KEY_ENCRYPTION_SECRET does not decrypt signing key ${kidOf(tokens.access_token)}: it is not the secret the keys were encrypted with`,
    )
    t.same(await keyRows(database), before, 'the keys are exactly as they were')

    const again = await startOn(t, database, { KEY_ENCRYPTION_SECRET: SECRET })
    t.equal(await claimsStatus(again, tokens.access_token), 200, 'the right secret still opens them')
    t.equal(kidOf((await login(again)).tokens.access_token), kidOf(tokens.access_token))
  })

  await t.test('starting without the secret when keys are sealed says to set it', async (t) => {
    const { database } = await buildTestApp(t, { KEY_ENCRYPTION_SECRET: SECRET }, dialect)
    const before = await keyRows(database)
    const failure = await startOn(t, database, {}).catch((e: unknown) => e)
    t.type(failure, KeyDecryptionError)
    t.equal(
      (failure as Error).message,
      'Signing keys in the database are encrypted: set KEY_ENCRYPTION_SECRET to the secret they were created with',
    )
    t.same(await keyRows(database), before)
  })

  await t.test(
    'plaintext keys keep working when a secret is first configured, and are sealed at start',
    async (t) => {
      const { app, database } = await buildTestApp(t, {}, dialect)
      await app.services.keys.rotate()
      const { tokens } = await login(app)
      const plaintext = await keyRows(database)
      t.ok(
        plaintext.every((r) => r.private_jwk.startsWith('{')),
        'stored in plaintext without a secret',
      )

      const sealed = await startOn(t, database, { KEY_ENCRYPTION_SECRET: SECRET })
      t.equal(await claimsStatus(sealed, tokens.access_token), 200, 'tokens signed before still verify')
      t.equal(
        kidOf((await login(sealed)).tokens.access_token),
        kidOf(tokens.access_token),
        'same signing key',
      )
      const rows = await keyRows(database)
      t.same(
        rows.map((r) => [r.kid, r.status, r.private_jwk.startsWith('enc:v1:')]),
        plaintext.map((r) => [r.kid, r.status, true]),
        'every key, retiring ones included, is now sealed',
      )
      const restarted = await startOn(t, database, { KEY_ENCRYPTION_SECRET: SECRET })
      t.equal(await claimsStatus(restarted, tokens.access_token), 200)
    },
  )
})
