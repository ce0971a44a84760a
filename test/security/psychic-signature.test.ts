import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { b64url, decode, tamper } from '../helpers/forge.js'

// CVE-2022-21449 ("psychic signatures"): an ECDSA verifier that does not check
// 0 < r, s < n accepts the all-zero signature for any message and any key.

// The order n of the P-256 group.
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex')
const zeros = (n: number) => Buffer.alloc(n)

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, { SIGNING_ALG: 'ES256' }, dialect)
  const { tokens } = await login(app)
  const real = decode(tokens.access_token)
  t.equal(real.header.alg, 'ES256')
  await expectAccepted(t, app, tokens.access_token)
  const escalated = tamper(tokens.access_token, (p) => ({ ...p, scope: 'admin profile:read profile:write' }))
  const withSignature = (token: string, signature: Buffer) =>
    `${token.slice(0, token.lastIndexOf('.'))}.${b64url(signature)}`

  await t.test('ES256 with r = s = 0 is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, withSignature(tokens.access_token, zeros(64)), 'r=s=0, real claims')
    await expectInvalidToken(t, app, withSignature(escalated, zeros(64)), 'r=s=0, escalated claims')
  })

  await t.test('other out-of-range ECDSA signatures are 401 invalid_token', async (t) => {
    const realSig = Buffer.from(real.signature, 'base64url')
    const cases: Array<[string, Buffer]> = [
      ['r = s = n', Buffer.concat([P256_N, P256_N])],
      ['r = 0, s real', Buffer.concat([zeros(32), realSig.subarray(32)])],
      ['r real, s = 0', Buffer.concat([realSig.subarray(0, 32), zeros(32)])],
      ['DER-encoded r = s = 0', Buffer.from('3006020100020100', 'hex')],
      ['a single zero byte', zeros(1)],
      ['65 zero bytes', zeros(65)],
    ]
    for (const [label, signature] of cases)
      await expectInvalidToken(t, app, withSignature(escalated, signature), label)
  })
})
