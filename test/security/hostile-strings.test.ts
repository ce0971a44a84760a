import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { assertErrorShape, expectError, injectWithin } from '../helpers/attack.js'
import { bearer, login, PASSWORD, passwordGrant, uniqueEmail } from '../helpers/flows.js'

// docs/contract.md §5: hostile strings and keys are a 400 (or the credentials error they
// deserve), never a 500 and never an effect: prototype-poisoning keys, NUL bytes
// and unpaired surrogates (a 500 on PostgreSQL before input hygiene), odd emails,
// and Basic client ids no client can have.

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const userCount = async () =>
    Number(
      (
        await app.services.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  await t.test(
    '__proto__ and constructor keys have no effect: a signup that smuggles admin grants nothing',
    async (t) => {
      const before = await userCount()
      const email = uniqueEmail('proto')
      for (const payload of [
        `{"__proto__":{"scopes":["admin"]},"email":"${email}","password":"${PASSWORD}"}`,
        `{"email":"${email}","password":"${PASSWORD}","constructor":{"prototype":{"scopes":["admin"]}}}`,
        `{"email":"${email}","password":"${PASSWORD}","nested":{"__proto__":{"admin":true}}}`,
      ])
        await expectError(
          t,
          app,
          payload.slice(0, 40),
          { method: 'POST', url: '/v1/users', headers: JSON_TYPE, payload },
          400,
          'invalid_request',
        )
      t.equal(await userCount(), before, 'no user was created')
      t.equal(({} as Record<string, unknown>).scopes, undefined, 'Object.prototype is untouched')
      t.equal(({} as Record<string, unknown>).admin, undefined)

      // Plain extra fields (mass assignment) are dropped: the user gets the default scopes only.
      const res = await injectWithin(app, {
        method: 'POST',
        url: '/v1/users',
        payload: {
          email,
          password: PASSWORD,
          scopes: ['admin'],
          disabled_at: null,
          id: '00000000-0000-0000-0000-000000000000',
        },
      })
      t.equal(res.statusCode, 201)
      t.same(res.json().scopes, ['profile:read', 'profile:write'])
      t.not(res.json().id, '00000000-0000-0000-0000-000000000000')

      // Form keys cannot pollute or escalate either.
      const form = `__proto__%5Bscope%5D=admin&constructor%5Bprototype%5D%5Bscope%5D=admin&__proto__=admin&grant_type=password&username=${encodeURIComponent(email)}&password=${encodeURIComponent(PASSWORD)}`
      const login = await injectWithin(app, {
        method: 'POST',
        url: '/oauth/token',
        headers: FORM,
        payload: form,
      })
      t.equal(login.statusCode, 200)
      t.equal(login.json().scope, 'profile:read profile:write', 'no admin scope')
      t.equal(({} as Record<string, unknown>).scope, undefined, 'Object.prototype is untouched')
    },
  )

  await t.test('NUL bytes and unpaired surrogates in any field are 400 invalid_request', async (t) => {
    const bad = ['a\u0000b', 'a\ud800b', '\udc00', 'x\u0000']
    for (const s of bad) {
      const label = JSON.stringify(s)
      await expectError(
        t,
        app,
        `email ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: `${s}@example.com`, password: PASSWORD } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `password ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: `${PASSWORD}${s}` } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `name ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: PASSWORD, name: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `username ${label}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'password', username: `${s}@example.com`, password: PASSWORD },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `refresh_token ${label}`,
        { method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `scope ${label}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'password', username: uniqueEmail(), password: PASSWORD, scope: s },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `revoke ${label}`,
        { method: 'POST', url: '/oauth/revoke', payload: { token: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        app,
        `PATCH name ${label}`,
        { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: s } },
        400,
        'invalid_request',
      )
    }
    await expectError(
      t,
      app,
      'form %00 username',
      {
        method: 'POST',
        url: '/oauth/token',
        headers: FORM,
        payload: `grant_type=password&username=a%00%40example.com&password=${encodeURIComponent(PASSWORD)}`,
      },
      400,
      'invalid_request',
    )
    await expectError(
      t,
      app,
      'query %00',
      { url: '/v1/me?x=%00', headers: bearer(tokens.access_token) },
      400,
      'invalid_request',
    )
    t.equal(
      (await injectWithin(app, { url: '/v1/me', headers: bearer(tokens.access_token) })).statusCode,
      200,
      'control',
    )
  })

  await t.test('very long, unicode and header-injecting emails are 400 invalid_request', async (t) => {
    const emails = [
      `${'a'.repeat(250)}@example.com`,
      `a@${'b'.repeat(250)}.com`,
      `${'a'.repeat(400)}@example.com`,
      'jösé@exämple.com',
      '用户@例子.广告',
      'ada@example.com\r\nBcc: victim@example.com',
      'ada@example.com\nX: y',
      '   ',
      '@example.com',
      'ada@',
      '"ada"@example.com>',
    ]
    for (const email of emails) {
      await expectError(
        t,
        app,
        `signup ${JSON.stringify(email).slice(0, 40)}`,
        { method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } },
        400,
        'invalid_request',
      )
    }
    // At the token endpoint an over-long username is refused outright; an odd one is just wrong credentials.
    await expectError(
      t,
      app,
      'username of 400 characters',
      {
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'password', username: 'a'.repeat(400), password: PASSWORD },
      },
      400,
      'invalid_request',
    )
    const res = await passwordGrant(app, { username: 'jösé@exämple.com', password: PASSWORD })
    t.equal(res.statusCode, 400)
    assertErrorShape(t, res, 'invalid_grant', 'unicode username')
  })

  await t.test(
    'Basic client credentials that no client can have are 401 invalid_client, not a 500',
    async (t) => {
      const basic = (raw: string | Buffer) => `Basic ${Buffer.from(raw).toString('base64')}`
      const credentials: Array<[string, string | Buffer]> = [
        ['NUL in the id', 'a\u0000b:secret'],
        ['%00 in the id', 'a%00b:secret'],
        ['an id outside the client_id alphabet', 'client id with spaces:secret'],
        ['a 65-character id', `${'a'.repeat(65)}:secret`],
        ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x3a, 0x41])],
        ['NUL in the secret', 'badge:se%00cret'],
      ]
      for (const url of ['/oauth/token', '/oauth/introspect', '/oauth/revoke'])
        for (const [label, raw] of credentials)
          await expectError(
            t,
            app,
            `${url}: ${label}`,
            {
              method: 'POST',
              url,
              headers: { ...FORM, authorization: basic(raw) },
              payload: form({ grant_type: 'client_credentials', token: 'x' }),
            },
            401,
            'invalid_client',
          )
    },
  )
})
