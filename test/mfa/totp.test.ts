import t from 'tap'
import {
  base32Decode,
  base32Encode,
  matchTotpStep,
  otpauthUri,
  type TotpAlgorithm,
  totpAt,
} from '../../src/mfa/totp.js'

// RFC 6238 Appendix B: the reference vectors (8 digits, 30-second steps) for each HMAC.
const SEEDS: Record<TotpAlgorithm, Buffer> = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
}
const VECTORS: Array<[number, Record<TotpAlgorithm, string>]> = [
  [59, { sha1: '94287082', sha256: '46119246', sha512: '90693936' }],
  [1111111109, { sha1: '07081804', sha256: '68084774', sha512: '25091201' }],
  [1111111111, { sha1: '14050471', sha256: '67062674', sha512: '99943326' }],
  [1234567890, { sha1: '89005924', sha256: '91819424', sha512: '93441116' }],
  [2000000000, { sha1: '69279037', sha256: '90698825', sha512: '38618901' }],
  [20000000000, { sha1: '65353130', sha256: '77737706', sha512: '47863826' }],
]

t.test('every RFC 6238 Appendix B vector', async (t) => {
  for (const [time, expected] of VECTORS)
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const)
      t.equal(
        totpAt(SEEDS[algorithm], time, { digits: 8, stepSeconds: 30, algorithm }),
        expected[algorithm],
        `${algorithm} at ${time}`,
      )
})

t.test('base32 follows RFC 4648 §10 (without padding) both ways', async (t) => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ]
  for (const [plain, encoded] of cases) {
    t.equal(base32Encode(Buffer.from(plain)), encoded)
    t.equal(base32Decode(encoded).toString(), plain)
  }
  t.equal(base32Encode(SEEDS.sha1), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
})

t.test('a code is accepted one step either side of now, not two, and never for a used step', async (t) => {
  const secret = base32Encode(SEEDS.sha1)
  const now = 1_700_000_000_000
  const step = Math.floor(now / 30_000)
  const code = (s: number) =>
    totpAt(SEEDS.sha1, s * 30)
      .slice(-6)
      .padStart(6, '0')
  const six = (s: number) => totpAt(SEEDS.sha1, s * 30, { digits: 6, stepSeconds: 30, algorithm: 'sha1' })
  t.equal(code(step), six(step), 'the 6-digit code is the last six digits of the 8-digit one')
  t.equal(matchTotpStep(secret, six(step), now, null), step)
  t.equal(matchTotpStep(secret, six(step - 1), now, null), step - 1)
  t.equal(matchTotpStep(secret, six(step + 1), now, null), step + 1)
  t.equal(matchTotpStep(secret, six(step - 2), now, null), undefined)
  t.equal(matchTotpStep(secret, six(step + 2), now, null), undefined)
  t.equal(matchTotpStep(secret, six(step), now, step), undefined, 'the same step again is a replay')
  t.equal(matchTotpStep(secret, six(step - 1), now, step), undefined, 'an earlier step after a later one')
  t.equal(matchTotpStep(secret, six(step + 1), now, step), step + 1)
  t.equal(matchTotpStep(secret, '12345', now, null), undefined)
  t.equal(matchTotpStep(secret, '１２３４５６', now, null), undefined)
})

t.test('the otpauth URI carries the secret, issuer and the parameters apps expect', async (t) => {
  const uri = new URL(otpauthUri('JBSWY3DPEHPK3PXP', 'auth.example.com', 'ada@example.com'))
  t.equal(uri.protocol, 'otpauth:')
  t.equal(uri.host, 'totp')
  t.equal(decodeURIComponent(uri.pathname), '/auth.example.com:ada@example.com')
  t.equal(uri.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP')
  t.equal(uri.searchParams.get('issuer'), 'auth.example.com')
  t.equal(uri.searchParams.get('digits'), '6')
  t.equal(uri.searchParams.get('period'), '30')
  t.equal(uri.searchParams.get('algorithm'), 'SHA1')
})
