import {
  createHmac,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import type { SigningAlg } from '../../src/config.js'
import { generateSigningKey } from '../../src/keys/generate.js'
import { loadKey } from '../../src/keys/loaded-key.js'
import { p1363ToDer } from '../../src/verify/signature.js'
import { createAccessTokenVerifier } from '../../src/verify/verifier.js'
import type { Settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

// verify ops/s vs node:crypto: Badge's whole uncached check (parse, signature, typ,
// claims) against the bare signature check on the same key and bytes, the most this
// machine can do. fast-jwt's verifier (which Badge used before) is measured beside them.
// This runs in the load generator's process, pinned to one core, with no server busy.

const ALGS: SigningAlg[] = ['EdDSA', 'ES256', 'RS256', 'HS256']
const ISSUER = 'http://badge.bench'

export interface VerifyOpsResult {
  opsPerSecond: Record<SigningAlg, { badge: number; crypto: number; fastJwt: number }>
  ratio: Record<SigningAlg, number>
  fastJwtRatio: Record<SigningAlg, number>
}

/**
 * Calls per CPU-second of `fn` over about `ms` milliseconds. CPU time rather than wall
 * time, so that moments when another process holds the core do not count against it.
 */
function rate(fn: () => unknown, ms: number): number {
  const end = performance.now() + ms
  const cpu = process.cpuUsage()
  let n = 0
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
  }
  const used = process.cpuUsage(cpu)
  return (n * 1e6) / (used.user + used.system)
}

async function subjects(alg: SigningAlg) {
  const generated = await generateSigningKey(alg)
  const key = loadKey(
    {
      kid: generated.kid,
      alg,
      status: 'active',
      public_jwk: JSON.stringify(generated.publicJwk),
      private_jwk: JSON.stringify(generated.privateJwk),
      created_at: 0,
      activated_at: 0,
      retiring_at: null,
      retired_at: null,
    },
    JSON.stringify(generated.privateJwk),
  )
  const verifier = createAccessTokenVerifier({
    keys: {
      get: (kid) => (kid === key.kid ? key : undefined),
      onChange: () => {},
      reloadForUnknownKid: async () => false,
    },
    clock: Date.now,
    issuer: ISSUER,
    audience: ISSUER,
    cacheSize: 0,
  })
  const iat = Math.floor(Date.now() / 1000)
  const token = key.sign({
    iss: ISSUER,
    sub: '8c0a3f5e-2b7d-4d0e-9a61-3f1f6f0b2c11',
    aud: ISSUER,
    exp: iat + 3600,
    iat,
    jti: 'f3b6a0c2-5d1e-4b7a-8c9d-0e1f2a3b4c5d',
    scope: 'profile:read profile:write',
    client_id: 'badge',
    sid: '1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6',
  })
  const dot = token.lastIndexOf('.')
  const data = Buffer.from(token.slice(0, dot))
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  let bare: () => boolean
  let fastJwtKey: string | Buffer
  if (alg === 'HS256') {
    const secret: KeyObject = createSecretKey(Buffer.from(generated.privateJwk.k!, 'base64url'))
    bare = () => timingSafeEqual(createHmac('sha256', secret).update(data).digest(), signature)
    fastJwtKey = secret.export()
  } else {
    const publicKey = createPublicKey({ key: generated.publicJwk as never, format: 'jwk' })
    const digest = alg === 'EdDSA' ? null : 'sha256'
    // ES256: the fastest bare form on Node 24 is the KeyObject itself with a DER signature
    // (converted here once, outside the timed call); {key, dsaEncoding: 'ieee-p1363'} is slower.
    const bareSignature = alg === 'ES256' ? p1363ToDer(signature) : signature
    bare = () => verify(digest, data, publicKey, bareSignature)
    fastJwtKey = publicKey.export({ type: 'spki', format: 'pem' }) as string
  }
  const fastJwt = createVerifier({
    key: fastJwtKey,
    algorithms: [alg],
    checkTyp: 'at+jwt',
    allowedIss: ISSUER,
    allowedAud: ISSUER,
    cache: false,
  })
  if (!bare() || verifier.verifyAccessToken(token).claims.iss !== ISSUER || !fastJwt(token))
    throw new Error(`${alg}: the subjects do not verify the token`)
  return {
    crypto: bare,
    badge: () => verifier.verifyAccessToken(token),
    fastJwt: () => fastJwt(token),
  }
}

export async function verifyOps(s: Settings): Promise<VerifyOpsResult> {
  const opsPerSecond = {} as VerifyOpsResult['opsPerSecond']
  const ratio = {} as VerifyOpsResult['ratio']
  const fastJwtRatio = {} as VerifyOpsResult['fastJwtRatio']
  for (const alg of ALGS) {
    const fns = await subjects(alg)
    const names = ['crypto', 'badge', 'fastJwt'] as const
    for (const name of names) rate(fns[name], Math.min(200, s.verifyMs)) // warm-up
    const samples = { crypto: [] as number[], badge: [] as number[], fastJwt: [] as number[] }
    for (let round = 0; round < s.verifyRounds; round++)
      for (const name of names) samples[name].push(rate(fns[name], s.verifyMs))
    const m = {
      crypto: median(samples.crypto),
      badge: median(samples.badge),
      fastJwt: median(samples.fastJwt),
    }
    opsPerSecond[alg] = m
    ratio[alg] = m.badge / m.crypto
    fastJwtRatio[alg] = m.fastJwt / m.crypto
  }
  return { opsPerSecond, ratio, fastJwtRatio }
}
