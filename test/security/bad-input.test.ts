import t, { type Test } from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { assertErrorShape, injectWithin } from '../helpers/attack.js'
import { bearer, login, PASSWORD, passwordGrant, uniqueEmail } from '../helpers/flows.js'

// CONTRACT §5: bad input is a clear 4xx in {error, error_description}, never a 500.
// Each case names the hostile input; the shape and code are asserted for all.

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

  const expectError = async (
    t: Test,
    label: string,
    options: Parameters<typeof injectWithin>[1],
    status: number,
    error: string,
  ) => {
    const res = await injectWithin(app, options)
    t.equal(res.statusCode, status, `${label}: ${status}`)
    assertErrorShape(t, res, error, label)
    return res
  }

  await t.test('a body over 64 KiB is 413 payload_too_large on every route that takes one', async (t) => {
    const big = 'x'.repeat(64 * 1024)
    await expectError(
      t,
      'JSON signup',
      { method: 'POST', url: '/v1/users', payload: { email: big } },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      'form token',
      { method: 'POST', url: '/oauth/token', headers: FORM, payload: `password=${big}` },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      'JSON token',
      { method: 'POST', url: '/oauth/token', payload: { password: big } },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      'form revoke',
      { method: 'POST', url: '/oauth/revoke', headers: FORM, payload: `token=${big}` },
      413,
      'payload_too_large',
    )
    await expectError(
      t,
      'PATCH /v1/me',
      { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: big } },
      413,
      'payload_too_large',
    )
    const justUnder = JSON.stringify({ email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(65_000) })
    t.ok(justUnder.length <= 65_536)
    await expectError(
      t,
      'a body just under 64 KiB is validated, not refused',
      { method: 'POST', url: '/v1/users', headers: JSON_TYPE, payload: justUnder },
      400,
      'invalid_request',
    )
  })

  await t.test('unsupported content types are 415 unsupported_media_type', async (t) => {
    const types = [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'text/json',
      'application/jsonx',
      '*/*',
      'application/json, text/plain',
    ]
    for (const type of types) {
      await expectError(
        t,
        `${type} to /v1/users`,
        { method: 'POST', url: '/v1/users', headers: { 'content-type': type }, payload: '{}' },
        415,
        'unsupported_media_type',
      )
      await expectError(
        t,
        `${type} to /oauth/token`,
        {
          method: 'POST',
          url: '/oauth/token',
          headers: { 'content-type': type },
          payload: 'grant_type=password',
        },
        415,
        'unsupported_media_type',
      )
    }
    await expectError(
      t,
      'a form to the JSON-only /v1/users',
      { method: 'POST', url: '/v1/users', headers: FORM, payload: `email=a%40b.co&password=${PASSWORD}` },
      415,
      'unsupported_media_type',
    )
  })

  await t.test('malformed JSON and non-object bodies are 400 invalid_request', async (t) => {
    for (const payload of [
      '{"email":',
      '{email: 1}',
      "{'a':1}",
      '[1,2',
      '',
      'nul',
      '{"a":1}{"b":2}',
      '[]',
      'null',
      '"x"',
      '42',
      '[{"grant_type":"password"}]',
    ])
      for (const url of ['/v1/users', '/oauth/token'])
        await expectError(
          t,
          `${JSON.stringify(payload)} to ${url}`,
          { method: 'POST', url, headers: JSON_TYPE, payload },
          400,
          'invalid_request',
        )
    await expectError(
      t,
      'deeply nested JSON',
      {
        method: 'POST',
        url: '/v1/users',
        headers: JSON_TYPE,
        payload: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      },
      400,
      'invalid_request',
    )
  })

  await t.test('wrong types and arrays where strings belong are 400 invalid_request', async (t) => {
    for (const value of [42, true, null, {}, { $ne: '' }, ['a@example.com'], [PASSWORD]]) {
      await expectError(
        t,
        `email ${JSON.stringify(value)}`,
        { method: 'POST', url: '/v1/users', payload: { email: value, password: PASSWORD } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `password ${JSON.stringify(value)}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: value } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `username ${JSON.stringify(value)}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'password', username: value, password: PASSWORD },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `refresh_token ${JSON.stringify(value)}`,
        {
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'refresh_token', refresh_token: value },
        },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `revoke token ${JSON.stringify(value)}`,
        { method: 'POST', url: '/oauth/revoke', payload: { token: value } },
        400,
        'invalid_request',
      )
    }
    await expectError(
      t,
      'name as a number',
      { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: 7 } },
      400,
      'invalid_request',
    )
  })

  await t.test('repeated form keys are 400 invalid_request, never a guess at which one counts', async (t) => {
    const { user } = await login(app)
    for (const form of [
      'grant_type=password&grant_type=refresh_token',
      `grant_type=password&username=${encodeURIComponent(user.email)}&username=other%40example.com&password=${encodeURIComponent(PASSWORD)}`,
      `grant_type=password&username=${encodeURIComponent(user.email)}&password=wrong&password=${encodeURIComponent(PASSWORD)}`,
      'grant_type=refresh_token&refresh_token=a&refresh_token=b',
      `grant_type=password&username=${encodeURIComponent(user.email)}&password=${encodeURIComponent(PASSWORD)}&scope=profile%3Aread&scope=admin`,
    ])
      await expectError(
        t,
        form.slice(0, 50),
        { method: 'POST', url: '/oauth/token', headers: FORM, payload: form },
        400,
        'invalid_request',
      )
    await expectError(
      t,
      'repeated token on revoke',
      { method: 'POST', url: '/oauth/revoke', headers: FORM, payload: 'token=a&token=b' },
      400,
      'invalid_request',
    )
  })

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
        `email ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: `${s}@example.com`, password: PASSWORD } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `password ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: `${PASSWORD}${s}` } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `name ${label}`,
        { method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), password: PASSWORD, name: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
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
        `refresh_token ${label}`,
        { method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
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
        `revoke ${label}`,
        { method: 'POST', url: '/oauth/revoke', payload: { token: s } },
        400,
        'invalid_request',
      )
      await expectError(
        t,
        `PATCH name ${label}`,
        { method: 'PATCH', url: '/v1/me', headers: bearer(tokens.access_token), payload: { name: s } },
        400,
        'invalid_request',
      )
    }
    await expectError(
      t,
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
        `signup ${JSON.stringify(email).slice(0, 40)}`,
        { method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } },
        400,
        'invalid_request',
      )
    }
    // At the token endpoint an over-long username is refused outright; an odd one is just wrong credentials.
    await expectError(
      t,
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

  await t.test('an undecodable URL or unknown route answers in the error shape', async (t) => {
    await expectError(t, 'bad percent-encoding', { url: '/v1/%E0%A4%A' }, 400, 'invalid_request')
    await expectError(
      t,
      'bad percent-encoding, POST',
      { method: 'POST', url: '/oauth/%ZZtoken' },
      400,
      'invalid_request',
    )
    await expectError(t, 'unknown route', { url: '/v1/nope' }, 404, 'not_found')
    await expectError(t, 'wrong method', { method: 'DELETE', url: '/v1/users' }, 404, 'not_found')
  })
})
