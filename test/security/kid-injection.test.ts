import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { accessTokenClaims, accessTokenHeader, serverKey, signHmac } from '../helpers/forge.js'

// The kid header is attacker-controlled input. Verifiers that read it as a file path
// (../../dev/null: an empty key), put it in SQL, or look it up in a plain object
// ("__proto__", "constructor": a function, not a key) have all been broken through
// it. Badge looks kids up in an in-memory Map and nothing else.

const PATH_KIDS = [
  '../../../../../../../../dev/null',
  '/dev/null',
  '../../../../etc/passwd',
  '..%2f..%2f..%2f..%2fdev%2fnull',
  '..\\..\\..\\windows\\win.ini',
  'file:///dev/null',
  '/proc/self/environ',
]
const SQL_KIDS = [
  "' OR '1'='1",
  "x' UNION SELECT 'secret' --",
  "x' UNION SELECT private_jwk FROM signing_keys --",
  "'; DROP TABLE signing_keys; --",
  '1; SELECT pg_sleep(5)',
  '" OR ""="',
]
const GUESSABLE_SECRETS = ['', 'secret', 'null', 'undefined', '0', 'password', 'badge', '\u0000']
const PROTOTYPE_KIDS = [
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'prototype',
  'then',
]

for (const signingAlg of ['EdDSA', 'HS256']) {
  await t.test(`with ${signingAlg} signing keys`, async (t) => {
    await eachDialect(t, async (t, dialect) => {
      const { app, database } = await buildTestApp(t, { SIGNING_ALG: signingAlg }, dialect)
      const { tokens } = await login(app)
      await expectAccepted(t, app, tokens.access_token)
      const key = await serverKey(app)
      const claims = accessTokenClaims(app, { scope: 'admin profile:read profile:write' })
      const keysBefore = await database.db.selectFrom('signing_keys').selectAll().execute()
      const queriesBefore = database.queryCount()

      await t.test('path-traversal kids with HS256 and empty or guessable secrets are refused', async (t) => {
        for (const kid of PATH_KIDS)
          for (const secret of GUESSABLE_SECRETS)
            await expectInvalidToken(
              t,
              app,
              signHmac('HS256', secret, { alg: 'HS256', typ: 'at+jwt', kid }, claims),
              `kid ${kid}, secret ${JSON.stringify(secret)}`,
            )
      })

      await t.test('SQL-injection kids with HS256 and guessable secrets are refused', async (t) => {
        for (const kid of SQL_KIDS)
          for (const secret of ['', 'secret', kid])
            await expectInvalidToken(
              t,
              app,
              signHmac('HS256', secret, { alg: 'HS256', typ: 'at+jwt', kid }, claims),
              `kid ${kid}, secret ${JSON.stringify(secret)}`,
            )
      })

      await t.test('the real kid with HS256 and a guessable secret is refused', async (t) => {
        for (const secret of [...GUESSABLE_SECRETS, key.kid])
          await expectInvalidToken(
            t,
            app,
            signHmac('HS256', secret, { alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims),
            `real kid, secret ${JSON.stringify(secret)}`,
          )
      })

      await t.test('non-string kids are refused', async (t) => {
        for (const kid of [123, 0, -1, null, true, false, [], [key.kid], {}, { toString: key.kid }])
          await expectInvalidToken(
            t,
            app,
            key.sign({ ...accessTokenHeader(key), kid }, claims),
            `kid ${JSON.stringify(kid)} signed by the real key`,
          )
      })

      await t.test('kids naming Object.prototype members answer 401 at once, without hanging', async (t) => {
        for (const kid of PROTOTYPE_KIDS) {
          await expectInvalidToken(t, app, key.sign({ ...accessTokenHeader(key), kid }, claims), `kid ${kid}`)
          await expectInvalidToken(
            t,
            app,
            signHmac('HS256', '', { alg: 'HS256', typ: 'at+jwt', kid }, claims),
            `kid ${kid}, HS256, empty secret`,
          )
        }
      })

      await t.test('the key set is untouched and no query ever carried a kid', async (t) => {
        t.same(await database.db.selectFrom('signing_keys').selectAll().execute(), keysBefore)
        // Only the throttled reload for unknown kids may query (it lists all keys, by status).
        t.ok(database.queryCount() - queriesBefore <= 2, 'at most one key-set reload (plus this check)')
      })
    })
  })
}

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const key = await serverKey(app)
  const claims = accessTokenClaims(app)

  await t.test('a crit header is refused even on a token signed by the real key', async (t) => {
    await expectAccepted(t, app, key.sign(accessTokenHeader(key), claims), 'the same token without crit')
    const crits: Array<[string, Record<string, unknown>]> = [
      ['crit [exp]', { crit: ['exp'] }],
      ['crit [b64] with b64 false', { crit: ['b64'], b64: false }],
      ['crit [] (malformed)', { crit: [] }],
      ['crit as a string', { crit: 'exp' }],
      ['an unknown critical extension', { crit: ['urn:example:ext'], 'urn:example:ext': true }],
      ['crit null', { crit: null }],
    ]
    for (const [label, extra] of crits)
      await expectInvalidToken(t, app, key.sign({ ...accessTokenHeader(key), ...extra }, claims), label)
  })
})
