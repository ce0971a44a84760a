import Fastify from 'fastify'
import { type CryptoKey, importJWK, jwtVerify } from 'jose'
import { serveCommands, statsSampler } from '../lib/child.js'

// A minimal resource server, the peer for Badge's uncached protected route: one Fastify 5
// route behind an onRequest hook that verifies the ES256 access token with jose (signature,
// typ at+jwt, iss, aud, exp) and checks one scope. No cache, no other plugin.

const stats = statsSampler()
const issuer = process.env.ISSUER
const jwkJson = process.env.BENCH_PUBLIC_JWK
if (!issuer || !jwkJson) throw new Error('ISSUER and BENCH_PUBLIC_JWK are required')
const key = (await importJWK(JSON.parse(jwkJson), 'ES256')) as CryptoKey
const audience = process.env.AUDIENCE ?? issuer

const app = Fastify({ logger: false })
app.decorateRequest('claims', null)
app.get(
  '/bench/protected',
  {
    onRequest: async (request, reply) => {
      const header = request.headers.authorization
      if (!header?.startsWith('Bearer ')) return reply.code(401).send({ error: 'invalid_request' })
      try {
        const { payload } = await jwtVerify(header.slice(7), key, {
          issuer,
          audience,
          typ: 'at+jwt',
          algorithms: ['ES256'],
        })
        if (
          !String(payload.scope ?? '')
            .split(' ')
            .includes('profile:read')
        )
          return reply.code(403).send({ error: 'insufficient_scope' })
      } catch {
        return reply.code(401).send({ error: 'invalid_token' })
      }
    },
  },
  async () => ({ ok: true }),
)
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
serveCommands(typeof address === 'object' && address ? address.port : 0, { stats: () => stats.take() })
