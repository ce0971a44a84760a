import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { passwordGrant, uniqueEmail } from '../helpers/flows.js'

// bcrypt reads only the first 72 *bytes* of its input (and stops at a NUL), so a
// naive implementation silently truncates long passphrases. Badge pre-hashes, so
// every byte counts; lengths are counted in characters, as people count them.

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const signup = (password: string) =>
    app.inject({ method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password } })
  const account = async (password: string) => {
    const email = uniqueEmail()
    const res = await app.inject({ method: 'POST', url: '/v1/users', payload: { email, password } })
    t.equal(res.statusCode, 201)
    return email
  }

  await t.test(
    'passwords sharing their first 72 bytes stay distinct, in ASCII and multi-byte text',
    async (t) => {
      for (const prefix of [
        'a'.repeat(72),
        'é'.repeat(36),
        'é'.repeat(40),
        '😀'.repeat(18),
        `${'a'.repeat(71)}é`,
      ]) {
        t.ok(Buffer.byteLength(prefix) >= 72, `${Buffer.byteLength(prefix)}-byte prefix`)
        const email = await account(`${prefix}-one`)
        t.equal((await passwordGrant(app, { username: email, password: `${prefix}-two` })).statusCode, 400)
        t.equal((await passwordGrant(app, { username: email, password: prefix })).statusCode, 400)
        t.equal((await passwordGrant(app, { username: email, password: `${prefix}-one` })).statusCode, 200)
      }
    },
  )

  await t.test('the minimum length counts characters, not bytes or UTF-16 units', async (t) => {
    t.equal((await signup('é'.repeat(8))).statusCode, 201, '8 × é (16 bytes)')
    t.equal((await signup('😀'.repeat(8))).statusCode, 201, '8 emoji (32 bytes)')
    t.equal((await signup('é'.repeat(7))).statusCode, 400, '7 × é is 14 bytes but 7 characters')
    t.equal((await signup('😀'.repeat(7))).statusCode, 400, '7 emoji are 14 UTF-16 units but 7 characters')
  })

  await t.test('a password typed in another Unicode normalization form still matches', async (t) => {
    const composed = 'caf\u00e9-passphrase'
    const decomposed = 'cafe\u0301-passphrase'
    const email = await account(composed)
    t.equal((await passwordGrant(app, { username: email, password: decomposed })).statusCode, 200)
  })
})
