import { randomUUID } from 'node:crypto'
import { buildApp } from '../../src/app.js'
import { SYSTEM_CONTEXT } from '../../src/audit/events.js'
import { loadConfig } from '../../src/config.js'
import { createAuthenticateHook, requireScopes } from '../../src/verify/authenticate.js'
import { RevokedSet } from '../../src/verify/revoked-set.js'
import { createAccessTokenVerifier } from '../../src/verify/verifier.js'
import { serveCommands, statsSampler } from '../lib/child.js'

// Badge as configured by the environment, plus three routes that do no I/O:
//   /bench/bare               unprotected
//   /bench/protected          app.authenticate + requireScopes('profile:read')
//   /bench/protected-nocache  the same hooks over a verifier with the cache off
//   /bench/protected-revoked  the same hooks over a verifier (cache on) whose revoked set
//                             holds the sessions the `revoke` command ends (issue 16)
// The parent drives it over IPC (tokens to issue, clients to register, peak RSS).
// Badge's own logger, as `npm start` builds it, at LOG_LEVEL (silent in the bench): the
// per-request logging work is part of what Badge costs.

const stats = statsSampler()
const config = loadConfig(process.env)
const app = await buildApp(config)
const { services } = app
const uncached = createAccessTokenVerifier({
  keys: services.keys,
  clock: services.clock,
  issuer: config.issuer,
  audience: config.audience,
  cacheSize: 0,
})

// Its own set, so the other routes measure the empty one in the same rounds.
const revokedSet = new RevokedSet()
const withRevocations = createAccessTokenVerifier({
  keys: services.keys,
  clock: services.clock,
  issuer: config.issuer,
  audience: config.audience,
  cacheSize: config.verifyCacheSize,
  revoked: revokedSet,
})

const body = { ok: true }
app.get('/bench/bare', async () => body)
app.get(
  '/bench/protected',
  { onRequest: [app.authenticate, requireScopes('profile:read')] },
  async () => body,
)
app.get(
  '/bench/protected-nocache',
  { onRequest: [createAuthenticateHook(uncached), requireScopes('profile:read')] },
  async () => body,
)

app.get(
  '/bench/protected-revoked',
  { onRequest: [createAuthenticateHook(withRevocations), requireScopes('profile:read')] },
  async () => body,
)

await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
serveCommands(typeof address === 'object' && address ? address.port : 0, {
  /** Distinct access tokens, as Badge issues them to distinct sessions. */
  tokens: ({ count, jkt }: { count: number; jkt?: string }) =>
    Array.from(
      { length: count },
      (_, i) =>
        services.issueAccessToken({
          sub: `bench-user-${i}`,
          scope: 'profile:read profile:write',
          clientId: 'badge',
          sid: randomUUID(),
          jkt,
        }).token,
    ),
  jwks: () => services.keys.jwks(),
  /** A registered client (client_credentials, introspection), as the admin API creates one. */
  client: async ({ scopes }: { scopes: string[] }) => {
    const { client, clientSecret } = await services.clients.createClient(
      { name: 'bench', scopes },
      SYSTEM_CONTEXT,
    )
    return { clientId: client.client_id, clientSecret }
  },
  /** Ends `count` sessions in /bench/protected-revoked's set, as a logout wave would. */
  revoke: ({ count }: { count: number }) => {
    const now = Math.floor(services.clock() / 1000)
    for (let i = 0; i < count; i++)
      revokedSet.add({ type: 'session', sid: randomUUID(), revoked_at: now, expires_at: now + 3600 })
    return revokedSet.size
  },
  stats: () => stats.take(),
})
