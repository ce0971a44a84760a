import { generateKeyPairSync, sign, verify } from 'node:crypto'
import t from 'tap'
import { createVerificationKey, p1363ToDer } from '../../src/verify/signature.js'

// ES256 signatures arrive as JWS's raw r || s and are checked as DER (src/verify/signature.ts,
// for speed). The conversion must keep every valid signature valid — whatever leading zero
// bytes or top bits r and s happen to have — and every altered one invalid.

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const key = createVerificationKey('k', 'ES256', publicKey)

t.test('DER from r || s is what OpenSSL itself produces', async (t) => {
  for (let i = 0; i < 300; i++) {
    const data = Buffer.from(`message ${i}`)
    const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
    t.ok(verify('sha256', data, publicKey, p1363ToDer(raw)), `signature ${i}`)
    if (!t.passing()) break
  }
})

t.test('edge integers: leading zeros, top bit set, zero', async (t) => {
  const r = Buffer.alloc(32, 0)
  r[2] = 0x80
  const s = Buffer.alloc(32, 0xff)
  // r: two zero bytes dropped, then 0x80 needs a 0x00 pad; s: full 32 bytes plus pad.
  t.same([...p1363ToDer(Buffer.concat([r, s]))].slice(0, 8), [
    0x30,
    2 + 31 + 2 + 33,
    0x02,
    31,
    0x00,
    0x80,
    0x00,
    0x00,
  ])
  const zero = p1363ToDer(Buffer.alloc(64, 0))
  t.same([...zero], [0x30, 6, 0x02, 1, 0x00, 0x02, 1, 0x00], 'r = s = 0 encodes as one zero byte each')
})

t.test('the key check accepts valid JWS signatures and refuses altered ones', async (t) => {
  const input = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0'
  for (let i = 0; i < 50; i++) {
    const signingInput = `${input}${i}`
    const raw = sign('sha256', Buffer.from(signingInput, 'latin1'), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    })
    t.ok(key.verifySignature(signingInput, raw), `valid ${i}`)
    const flipped = Buffer.from(raw)
    flipped[i % 64]! ^= 1
    t.notOk(key.verifySignature(signingInput, flipped), `one bit flipped ${i}`)
    t.notOk(key.verifySignature(`${signingInput}x`, raw), `other input ${i}`)
  }
  t.notOk(key.verifySignature(input, Buffer.alloc(64, 0)), 'all zeros')
  t.notOk(key.verifySignature(input, Buffer.alloc(63, 1)), 'wrong length')
})
