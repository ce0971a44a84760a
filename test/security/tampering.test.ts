import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { decode, tamper } from '../helpers/forge.js'

// A genuine token, edited: the payload changed under the original signature, or the
// signature stripped, cut, padded or borrowed from another token.

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Every other spelling of the token's signature: its last character's unused low bits set. */
function respellings(token: string): string[] {
  const length = token.length - token.lastIndexOf('.') - 1
  const mask = length % 4 === 2 ? 0b1111 : 0b11
  const last = BASE64URL.indexOf(token.at(-1)!)
  return Array.from({ length: mask }, (_, i) => token.slice(0, -1) + BASE64URL[(last & ~mask) | (i + 1)])
}

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

  await t.test('the same signature spelled with non-zero unused bits is 401 invalid_token', async (t) => {
    for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256']) {
      const { app } = await buildTestApp(t, { SIGNING_ALG: alg }, dialect)
      const token = (await login(app)).tokens.access_token
      const variants = respellings(token)
      t.ok(variants.length >= 3, `${alg}: ${variants.length} other spellings of one signature`)
      for (const variant of variants) {
        t.same(
          Buffer.from(decode(variant).signature, 'base64url'),
          Buffer.from(decode(token).signature, 'base64url'),
          'the very same signature bytes',
        )
        await expectInvalidToken(t, app, variant, `${alg} signature re-spelled`)
      }
      await expectAccepted(t, app, token, `${alg}: the canonical spelling`)
    }
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
