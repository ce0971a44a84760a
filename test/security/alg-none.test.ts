import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { decode, encodeJson } from '../helpers/forge.js'

// The oldest JWT attack: claim the token is unsigned and hope the verifier agrees.

/** "none" in all 16 casings. */
function casings(word: string): string[] {
  return Array.from({ length: 2 ** word.length }, (_, mask) =>
    [...word].map((c, i) => (mask & (1 << i) ? c.toUpperCase() : c)).join(''),
  )
}

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const real = decode(tokens.access_token)
  await expectAccepted(t, app, tokens.access_token)
  const escalated = encodeJson({ ...real.payload, scope: 'admin profile:read profile:write' })

  await t.test('alg "none" in every casing, with no signature, is 401 invalid_token', async (t) => {
    t.equal(casings('none').length, 16)
    for (const alg of casings('none')) {
      const header = encodeJson({ ...real.header, alg })
      await expectInvalidToken(t, app, `${header}.${escalated}.`, `alg ${alg}, real kid, empty signature`)
      const { kid: _kid, ...noKid } = real.header
      await expectInvalidToken(t, app, `${encodeJson({ ...noKid, alg })}.${escalated}.`, `alg ${alg}, no kid`)
    }
  })

  await t.test('alg "none" in every casing, keeping the real signature, is 401 invalid_token', async (t) => {
    for (const alg of casings('none')) {
      const header = encodeJson({ ...real.header, alg })
      await expectInvalidToken(t, app, `${header}.${escalated}.${real.signature}`, `alg ${alg} + signature`)
      await expectInvalidToken(
        t,
        app,
        `${header}.${real.segments[1]}.${real.signature}`,
        `alg ${alg}, untouched payload + signature`,
      )
    }
  })

  await t.test('a token with no alg at all, or an empty one, is 401 invalid_token', async (t) => {
    const { alg: _alg, ...noAlg } = real.header
    await expectInvalidToken(t, app, `${encodeJson(noAlg)}.${real.segments[1]}.${real.signature}`, 'no alg')
    await expectInvalidToken(
      t,
      app,
      `${encodeJson({ ...real.header, alg: '' })}.${real.segments[1]}.${real.signature}`,
      'empty alg',
    )
  })
})
