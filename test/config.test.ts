import { spawnSync } from 'node:child_process'
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults follow docs/contract.md §1', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.databaseUrl, 'sqlite:./data/badge.db')
  t.equal(config.issuer, 'http://localhost:3000')
  t.equal(config.audience, 'http://localhost:3000')
  t.equal(config.accessTokenTtl, 900)
  t.equal(config.refreshTokenTtl, 2592000)
  t.equal(config.refreshTokenIdleTtl, 1209600)
  t.equal(config.refreshReuseGraceSeconds, 10)
  t.equal(config.signingAlg, 'EdDSA')
  t.equal(config.bcryptCost, 12)
  t.equal(config.signupEnabled, true)
  t.same(config.scopes, ['profile:read', 'profile:write', 'admin'])
  t.same(config.defaultUserScopes, ['profile:read', 'profile:write'])
  t.equal(config.rateLimitEnabled, true)
  t.equal(config.logLevel, 'info')
  t.equal(config.trustProxy, false)
  t.equal(config.redisUrl, undefined)
  t.equal(config.adminRequireMfa, false)
  t.equal(loadConfig({ ADMIN_REQUIRE_MFA: 'true' }).adminRequireMfa, true)
  t.ok(Object.isFrozen(config))
})

t.test('values are parsed into their types', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    ISSUER: 'https://auth.example.com/',
    SIGNUP_ENABLED: 'false',
    SCOPES: 'a b  admin',
    DEFAULT_USER_SCOPES: 'a',
    TRUST_PROXY: '2',
    AUDIENCE: 'https://api.example.com',
  })
  t.equal(config.port, 8080)
  t.equal(config.issuer, 'https://auth.example.com', 'a trailing slash is dropped')
  t.equal(config.audience, 'https://api.example.com')
  t.equal(config.signupEnabled, false)
  t.same(config.scopes, ['a', 'b', 'admin'])
  t.equal(config.trustProxy, 2)
})

t.test('an unset ISSUER follows PORT', async (t) => {
  const config = loadConfig({ PORT: '4100' })
  t.equal(config.issuer, 'http://localhost:4100', 'metadata, iss and the JWKS URL name the real port')
  t.equal(config.audience, 'http://localhost:4100')
  t.equal(loadConfig({ PORT: '4100', ISSUER: 'https://auth.example.com' }).issuer, 'https://auth.example.com')
})

t.test('an unset idle lifetime follows a shorter absolute lifetime', async (t) => {
  t.equal(
    loadConfig({ REFRESH_TOKEN_TTL: '3600' }).refreshTokenIdleTtl,
    3600,
    'REFRESH_TOKEN_TTL=3600 alone starts',
  )
  t.equal(loadConfig({ REFRESH_TOKEN_TTL: '3600', REFRESH_TOKEN_IDLE_TTL: '600' }).refreshTokenIdleTtl, 600)
  t.equal(
    loadConfig({ REFRESH_TOKEN_TTL: '9999999' }).refreshTokenIdleTtl,
    1209600,
    'the 14-day default otherwise',
  )
  t.throws(() => loadConfig({ REFRESH_TOKEN_TTL: '3600', REFRESH_TOKEN_IDLE_TTL: '7200' }), {
    message: /^Invalid configuration: REFRESH_TOKEN_IDLE_TTL must not exceed REFRESH_TOKEN_TTL$/,
  })
})

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ ACCESS_TOKEN_TTL: '' }).accessTokenTtl, 900)
})

const bad: Array<[Record<string, string>, RegExp]> = [
  [{ ACCESS_TOKEN_TTL: 'abc' }, /^Invalid configuration: ACCESS_TOKEN_TTL must be a whole number of seconds/],
  [{ ACCESS_TOKEN_TTL: '0' }, /^Invalid configuration: ACCESS_TOKEN_TTL must be greater than 0/],
  [{ SIGNING_ALG: 'none' }, /^Invalid configuration: SIGNING_ALG must be one of EdDSA, ES256, RS256, HS256$/],
  [{ PORT: '70000' }, /^Invalid configuration: PORT must be a whole number from 0 to 65535$/],
  [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must be sqlite:PATH/],
  [{ SIGNUP_ENABLED: 'maybe' }, /^Invalid configuration: SIGNUP_ENABLED must be true or false$/],
  [{ BCRYPT_COST: '3' }, /^Invalid configuration: BCRYPT_COST must be a whole number from 4 to 15$/],
  [{ ISSUER: 'not a url' }, /^Invalid configuration: ISSUER must be an http\(s\) URL/],
  [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL must be one of/],
  [{ DEFAULT_USER_SCOPES: 'root' }, /^Invalid configuration: DEFAULT_USER_SCOPES must be a subset of SCOPES/],
  [
    { SCOPES: Array.from({ length: 101 }, (_, i) => `scope${i}`).join(' ') },
    /^Invalid configuration: SCOPES must list at most 100 scopes of at most 200 characters$/,
  ],
  [
    { BOOTSTRAP_ADMIN_EMAIL: 'a@example.com' },
    /^Invalid configuration: BOOTSTRAP_ADMIN_PASSWORD and BOOTSTRAP_ADMIN_EMAIL/,
  ],
  [{ CORS_ORIGINS: '*' }, /^Invalid configuration: CORS_ORIGINS must list exact origins/],
  [{ REFRESH_TOKEN_IDLE_TTL: '999999999' }, /^Invalid configuration: REFRESH_TOKEN_IDLE_TTL must not exceed/],
  [
    { ISSUER: 'https://id.example.com', WEBAUTHN_ORIGINS: 'https://app.other.org' },
    /^Invalid configuration: WEBAUTHN_ORIGINS must be a registrable suffix of every WebAuthn origin's host \(id.example.com does not cover https:\/\/app.other.org\)$/,
  ],
  [
    { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com,https://example.org' },
    /^Invalid configuration: WEBAUTHN_RP_ID must be a registrable suffix/,
  ],
  [
    { WEBAUTHN_RP_ID: 'com', WEBAUTHN_ORIGINS: 'https://example.com' },
    /^Invalid configuration: WEBAUTHN_RP_ID must be a registrable suffix/,
  ],
  [{ WEBAUTHN_RP_ID: 'Example.COM' }, /^Invalid configuration: WEBAUTHN_RP_ID must be a lowercase domain/],
]

t.test(
  'WebAuthn relying party: defaults from ISSUER and CORS_ORIGINS, a parent domain allowed',
  async (t) => {
    t.same(loadConfig({ PORT: '4000' }).webauthn, { id: 'localhost', origins: ['http://localhost:4000'] })
    t.same(
      loadConfig({
        ISSUER: 'https://id.example.com/',
        CORS_ORIGINS: 'https://id.example.com:8443,https://app.example.com',
      }).webauthn,
      { id: 'id.example.com', origins: ['https://id.example.com', 'https://id.example.com:8443'] },
      'default origins the default RP ID cannot serve are left out, not fatal',
    )
    t.same(
      loadConfig({
        ISSUER: 'https://id.example.com',
        WEBAUTHN_RP_ID: 'example.com',
        WEBAUTHN_ORIGINS: 'https://app.example.com,https://id.example.com',
      }).webauthn,
      { id: 'example.com', origins: ['https://app.example.com', 'https://id.example.com'] },
    )
  },
)

for (const [env, message] of bad) {
  t.test(`${Object.entries(env)[0]!.join('=')} is refused with one line naming the variable`, async (t) => {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message })
    try {
      loadConfig(env)
    } catch (error) {
      t.type(error, ConfigError)
      t.notMatch((error as Error).message, /\n/)
    }
  })
}

t.test('the server exits with status 1 and one line on a bad value', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, ACCESS_TOKEN_TTL: 'abc', DATABASE_URL: 'sqlite::memory:' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(result.status, 1)
  t.equal(result.stdout, '')
  t.match(
    result.stderr,
    /^Invalid configuration: ACCESS_TOKEN_TTL must be a whole number of seconds \(access token lifetime\)\n$/,
  )
})
