import { createServer } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import { serveCommands, statsSampler } from '../lib/child.js'

// A peer baseline: node-oidc-provider (npm oidc-provider) with its default in-memory
// adapter, doing what Badge's /oauth/token and /oauth/introspect do: client_credentials,
// rotated refresh (public client, like Badge's default app) and introspection. Access
// tokens are JWTs signed with the same algorithm as the Badge server it is compared with
// (BENCH_ALG, ES256 by default), so both sides do the same signature work. It does no I/O
// at all: its storage is a Map.

const stats = statsSampler()
const ISSUER = 'http://oidc.bench'
const RESOURCE = 'http://badge.bench'
const SCOPE = 'profile:read profile:write'
const alg = (process.env.BENCH_ALG ?? 'ES256') as 'ES256' | 'EdDSA'
const { privateKey } = await generateKeyPair(alg, { extractable: true })
const jwk = { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: 'bench' }

const provider = new Provider(ISSUER, {
  jwks: { keys: [jwk] },
  clients: [
    {
      // Refresh, as Badge's default public app "badge" does it: no client secret.
      client_id: 'app',
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: alg,
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://app.example/cb'],
    },
    {
      // client_credentials and introspection, as Badge's registered clients (HTTP Basic).
      client_id: 'service',
      client_secret: 'service-secret-that-is-long-enough-for-the-bench',
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: ['openid', 'offline_access', ...SCOPE.split(' ')],
  findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: SCOPE,
        audience: RESOURCE,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
})
// oidc-provider logs through `debug` and emits errors as events: keep both quiet.
provider.on('server_error', (_ctx: unknown, error: Error) => process.stderr.write(`oidc: ${error.message}\n`))

const server = createServer(provider.callback())
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  serveCommands(typeof address === 'object' && address ? address.port : 0, {
    /** Refresh tokens of distinct grants, as a login (authorization code) would have left them. */
    refreshTokens: async ({ count }: { count: number }) => {
      const client = await provider.Client.find('app')
      const tokens: string[] = []
      for (let i = 0; i < count; i++) {
        const accountId = `bench-user-${i}`
        const grant = new provider.Grant({ accountId, clientId: 'app' })
        grant.addOIDCScope('offline_access')
        grant.addResourceScope(RESOURCE, SCOPE)
        const grantId = await grant.save()
        const token = new provider.RefreshToken({
          accountId,
          client,
          grantId,
          gty: 'authorization_code',
          scope: `offline_access ${SCOPE}`,
          resource: RESOURCE,
          expiresWithSession: false,
        })
        tokens.push(await token.save())
      }
      return tokens
    },
    /** An opaque (stored) access token, which is what oidc-provider introspects. */
    opaqueAccessToken: async () => {
      const client = await provider.Client.find('app')
      const grant = new provider.Grant({ accountId: 'bench-user', clientId: 'app' })
      grant.addOIDCScope('openid')
      const grantId = await grant.save()
      return new provider.AccessToken({
        accountId: 'bench-user',
        client,
        grantId,
        gty: 'authorization_code',
        scope: 'openid',
      }).save()
    },
    stats: () => stats.take(),
  })
})
