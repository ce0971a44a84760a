import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { accessTokenClaims, accessTokenHeader, serverKey } from '../helpers/forge.js'

// Grey-box: tokens signed with Badge's own key (as a bug in the issuer, a leaked key
// used carelessly, or another RFC 9068 issuer sharing it would produce), so that only
// the header and claim rules stand between them and a protected route (docs/contract.md §2).

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const key = await serverKey(app)
  const header = accessTokenHeader(key)
  const { issuer, audience } = app.services.config
  const sign = (claims: unknown, h: object = header) => key.sign(h, claims)
  const without = (name: string) => {
    const claims: Record<string, unknown> = accessTokenClaims(app)
    delete claims[name]
    return claims
  }

  await t.test('control: a well-formed token signed this way is accepted', async (t) => {
    await expectAccepted(t, app, sign(accessTokenClaims(app)))
    await expectAccepted(
      t,
      app,
      sign(accessTokenClaims(app, { aud: [audience] })),
      'aud as a one-element array',
    )
  })

  await t.test('a token without exp is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, sign(without('exp')), 'no exp')
    await expectInvalidToken(t, app, sign(accessTokenClaims(app, { exp: null })), 'exp null')
    await expectInvalidToken(t, app, sign(accessTokenClaims(app, { exp: '9999999999' })), 'exp as a string')
  })

  await t.test('a typ other than at+jwt, or none, is 401 invalid_token', async (t) => {
    const { typ: _typ, ...noTyp } = header
    await expectInvalidToken(t, app, sign(accessTokenClaims(app), noTyp), 'no typ')
    for (const typ of ['JWT', 'jwt', 'application/jwt', 'dpop+jwt', 'secevent+jwt', 'at+jwt ', '', 'at+jwe'])
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app), { ...header, typ }),
        `typ ${JSON.stringify(typ)}`,
      )
    for (const typ of [null, 1, ['at+jwt'], { at: 'jwt' }])
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app), { ...header, typ }),
        `typ ${JSON.stringify(typ)}`,
      )
  })

  await t.test('a payload that is an array or a string is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, sign([accessTokenClaims(app)]), 'array payload')
    await expectInvalidToken(t, app, sign(JSON.stringify(accessTokenClaims(app))), 'string payload')
    await expectInvalidToken(t, app, sign('hello'), 'plain string payload')
    await expectInvalidToken(t, app, sign(null), 'null payload')
    await expectInvalidToken(t, app, sign(42), 'number payload')
  })

  await t.test(
    'iss or aud as an array holding the right value among others is 401 invalid_token',
    async (t) => {
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { iss: [issuer, 'http://evil.test'] })),
        'iss array',
      )
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { iss: ['http://evil.test', issuer] })),
        'iss array 2',
      )
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { iss: [issuer] })),
        'iss one-element array',
      )
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { aud: [audience, 'http://evil.test'] })),
        'aud array',
      )
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { aud: ['http://evil.test', audience] })),
        'aud array 2',
      )
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { aud: [audience, audience] })),
        'aud repeated',
      )
    },
  )

  await t.test('iss and aud must match exactly, not loosely', async (t) => {
    for (const iss of [`${issuer}/`, issuer.toUpperCase(), `${issuer}.evil.test`, 'http://evil.test', ''])
      await expectInvalidToken(t, app, sign(accessTokenClaims(app, { iss })), `iss ${iss}`)
    for (const aud of [`${audience}/`, `${audience}.evil.test`, '*', ''])
      await expectInvalidToken(t, app, sign(accessTokenClaims(app, { aud })), `aud ${aud}`)
    await expectInvalidToken(t, app, sign(without('iss')), 'no iss')
    await expectInvalidToken(t, app, sign(without('aud')), 'no aud')
  })

  await t.test('tokens lacking or mistyping the other required claims are 401 invalid_token', async (t) => {
    for (const name of ['sub', 'iat', 'jti', 'client_id'])
      await expectInvalidToken(t, app, sign(without(name)), `no ${name}`)
    for (const [name, value] of [
      ['sub', 42],
      ['iat', 'now'],
      ['jti', null],
      ['client_id', ['badge']],
      ['scope', ['admin']],
      ['sid', 7],
    ] as const)
      await expectInvalidToken(
        t,
        app,
        sign(accessTokenClaims(app, { [name]: value })),
        `${name} ${JSON.stringify(value)}`,
      )
  })
})
