import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

// The rate-limit variables (README "Rate limits"): COUNT/WINDOW, validated at start.

t.test('the defaults cap guessing well below 100 passwords an hour per account', async (t) => {
  const { rateLimits } = loadConfig({})
  t.same(rateLimits.loginAccount, { max: 10, windowMs: 15 * 60_000 })
  t.ok((rateLimits.loginAccount.max * 3_600_000) / rateLimits.loginAccount.windowMs < 100)
  t.same(rateLimits.loginAddress, { max: 100, windowMs: 15 * 60_000 })
  t.same(rateLimits.token, { max: 300, windowMs: 60_000 })
  t.same(rateLimits.signup, { max: 20, windowMs: 3_600_000 })
  t.same(rateLimits.revoke, { max: 120, windowMs: 60_000 })
  t.same(rateLimits.introspect, { max: 1200, windowMs: 60_000 })
  t.equal(loadConfig({}).redisKeyPrefix, 'badge:')
})

t.test('limits read COUNT/WINDOW with the window in seconds, minutes or hours', async (t) => {
  const config = loadConfig({
    RATE_LIMIT_LOGIN_ACCOUNT: '5/30s',
    RATE_LIMIT_SIGNUP: '3/2h',
    RATE_LIMIT_TOKEN: '50/10m',
  })
  t.same(config.rateLimits.loginAccount, { max: 5, windowMs: 30_000 })
  t.same(config.rateLimits.signup, { max: 3, windowMs: 7_200_000 })
  t.same(config.rateLimits.token, { max: 50, windowMs: 600_000 })
})

t.test('a malformed limit stops start-up with one line naming the variable', async (t) => {
  for (const value of ['10', '10/15', 'ten/15m', '0/15m', '10/0m', '-1/15m', '10/15d']) {
    let error: unknown
    try {
      loadConfig({ RATE_LIMIT_LOGIN_ACCOUNT: value })
    } catch (e) {
      error = e
    }
    t.type(error, ConfigError, value)
    t.match((error as Error).message, /^Invalid configuration: RATE_LIMIT_LOGIN_ACCOUNT [^\n]+$/, value)
  }
  t.throws(() => loadConfig({ REDIS_KEY_PREFIX: 'has space' }), /REDIS_KEY_PREFIX/)
})
