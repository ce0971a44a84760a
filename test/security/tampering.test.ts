import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { decode, tamper } from '../helpers/forge.js'

// A genuine token, edited: the payload changed under the original signature, or the
// signature stripped, cut, padded or borrowed from another token.

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const alice = await login(app)
  const bob = await login(app)
  const token = alice.tokens.access_token
  const real = decode(token)
  await expectAccepted(t, app, token, 'alice’s token')

  await t.test('a payload edited under the original signature is 401 invalid_token', async (t) => {
    await expectInvalidToken(
      t,
      app,
      tamper(token, (p) => ({ ...p, scope: 'admin profile:read profile:write' })),
      'scope escalation',
    )
    await expectInvalidToken(
      t,
      app,
      tamper(token, (p) => ({ ...p, exp: (p.exp as number) + 365 * 86400 })),
      'exp extended',
    )
    await expectInvalidToken(
      t,
      app,
      tamper(token, (p) => ({ ...p, sub: bob.user.id })),
      'sub swapped',
    )
    await expectInvalidToken(
      t,
      app,
      tamper(token, (p) => ({ ...p, sid: undefined })),
      'sid removed',
    )
    await expectInvalidToken(
      t,
      app,
      tamper(token, (p) => ({ ...p, extra: true })),
      'claim added',
    )
  })

  await t.test(
    'the same claims re-encoded (key order, whitespace) under the signature are refused',
    async (t) => {
      const { segments, payload } = real
      const reordered = Object.fromEntries(Object.entries(payload).reverse())
      const spaced = Buffer.from(JSON.stringify(payload, null, 1)).toString('base64url')
      await expectInvalidToken(
        t,
        app,
        tamper(token, () => reordered),
        'claims reordered',
      )
      await expectInvalidToken(t, app, `${segments[0]}.${spaced}.${segments[2]}`, 'claims re-spaced')
    },
  )

  await t.test('a stripped signature is 401 invalid_token', async (t) => {
    const [h, p] = real.segments
    await expectInvalidToken(t, app, `${h}.${p}.`, 'empty signature')
    await expectInvalidToken(t, app, `${h}.${p}`, 'no signature part')
  })

  await t.test('a truncated signature is 401 invalid_token', async (t) => {
    const [h, p, s] = real.segments as [string, string, string]
    await expectInvalidToken(t, app, `${h}.${p}.${s.slice(0, -1)}`, 'one character short')
    await expectInvalidToken(t, app, `${h}.${p}.${s.slice(0, -4)}`, 'three bytes short')
    await expectInvalidToken(t, app, `${h}.${p}.${s.slice(0, s.length >> 1)}`, 'half a signature')
    await expectInvalidToken(t, app, token.slice(0, -20), 'the token cut short')
  })

  await t.test('a padded or lengthened signature is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, `${token}=`, 'one "=" of padding')
    await expectInvalidToken(t, app, `${token}==`, 'two "=" of padding')
    await expectInvalidToken(t, app, `${token}AAAA`, 'four zero bytes appended')
    await expectInvalidToken(t, app, `${token}${real.signature}`, 'the signature twice')
    await expectInvalidToken(t, app, `${token}.${real.signature}`, 'a fourth part')
  })

  await t.test('a signature in standard base64 instead of base64url is 401 invalid_token', async (t) => {
    const standard = Buffer.from(real.signature, 'base64url').toString('base64')
    const [h, p] = real.segments
    // Only meaningful if the signature has a character the two alphabets spell differently.
    if (/[+/=]/.test(standard)) await expectInvalidToken(t, app, `${h}.${p}.${standard}`, 'base64 signature')
    await expectInvalidToken(t, app, `${h}.${p}.${standard.replace(/=+$/, '')}A`, 'base64 signature + junk')
  })

  await t.test('a signature borrowed from another valid token is 401 invalid_token', async (t) => {
    const other = decode(bob.tokens.access_token)
    const [h, p] = real.segments
    await expectInvalidToken(t, app, `${h}.${p}.${other.signature}`, 'bob’s signature on alice’s claims')
    await expectInvalidToken(
      t,
      app,
      `${h}.${other.segments[1]}.${real.signature}`,
      'bob’s claims, alice’s signature',
    )
  })

  await t.test('a signature from another Badge (another key) is 401 invalid_token', async (t) => {
    const { app: elsewhere } = await buildTestApp(t, {}, dialect)
    const foreign = (await login(elsewhere)).tokens.access_token
    await expectAccepted(t, elsewhere, foreign, 'the token where it was issued')
    await expectInvalidToken(t, app, foreign, 'token of another Badge, same issuer, other key')
    const [h, p] = real.segments
    await expectInvalidToken(t, app, `${h}.${p}.${decode(foreign).signature}`, 'foreign signature')
  })
})
