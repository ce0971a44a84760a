import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { openTestDatabase } from '../helpers/databases.js'
import { PASSWORD, signUp, uniqueEmail } from '../helpers/flows.js'
import { freePort, startTcpProxy, viaProxy } from '../helpers/net.js'
import { REDIS_SKIP_REASON, redisKeys, redisPrefix, TEST_REDIS_URL } from '../helpers/redis.js'

// docs/contract.md §1, §7: with REDIS_URL the counters live in Redis, so limits hold across
// instances; if Redis is down Badge keeps serving and says so in its log: failed logins
// are then limited per instance, request limits are skipped.

const ADDRESS = '198.51.100.7'

function login(app: FastifyInstance, username: string, password: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: ADDRESS,
    payload: { grant_type: 'password', username, password },
  })
}

function signup(app: FastifyInstance) {
  return app.inject({
    method: 'POST',
    url: '/v1/users',
    remoteAddress: ADDRESS,
    payload: { email: uniqueEmail(), password: PASSWORD },
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'limits hold across instances sharing Redis',
    { skip: !TEST_REDIS_URL && REDIS_SKIP_REASON },
    async (t) => {
      const prefix = redisPrefix(t)
      const env = {
        RATE_LIMIT_ENABLED: 'true',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_SIGNUP: '3/1h',
      }
      const a = (await buildTestApp(t, env, dialect)).app
      const b = (await buildTestApp(t, env, dialect)).app

      await t.test('ten failed logins split over two instances lock the account on both', async (t) => {
        const ghost = uniqueEmail('ghost')
        for (let i = 0; i < 5; i++) t.equal((await login(a, ghost, `guess a${i}`)).statusCode, 400)
        for (let i = 0; i < 5; i++) t.equal((await login(b, ghost, `guess b${i}`)).statusCode, 400)
        for (const app of [a, b]) {
          const res = await login(app, ghost, PASSWORD)
          t.equal(res.statusCode, 429)
          t.equal(res.json().error, 'too_many_requests')
          t.match(res.headers['retry-after'], /^[1-9][0-9]*$/)
        }
        t.ok(
          (await redisKeys(prefix)).some((k) => k.startsWith(`${prefix}login:`)),
          'counters are in Redis',
        )
      })

      await t.test('the per-address sign-up limit counts requests on every instance', async (t) => {
        t.equal((await signup(a)).statusCode, 201)
        t.equal((await signup(b)).statusCode, 201)
        t.equal((await signup(a)).statusCode, 201)
        const refused = await signup(b)
        t.equal(refused.statusCode, 429)
        t.equal(refused.json().error, 'too_many_requests')
        t.match(refused.headers['retry-after'], /^[1-9][0-9]*$/)
        t.ok(
          (await redisKeys(prefix)).some((k) => k.startsWith(`${prefix}rl:`)),
          'counters are in Redis',
        )
      })
    },
  )

  await t.test(
    'with Redis unreachable from the start, Badge serves, limits failed logins per instance and logs it',
    async (t) => {
      const lines: string[] = []
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk))
          done()
        },
      })
      const database = await openTestDatabase(t, dialect)
      const config = loadConfig({
        ...TEST_ENV,
        DATABASE_URL: database.url,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_SIGNUP: '2/1h',
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      })
      const app = await buildApp(config, { database, clock: testClock(), logger: { level: 'warn', stream } })
      t.teardown(() => app.close())

      for (let i = 0; i < 3; i++) t.equal((await signup(app)).statusCode, 201, 'sign-up is not refused')
      const user = await signUp(app)
      t.equal((await login(app, user.email, PASSWORD)).statusCode, 200, 'sign-in works')
      const ghost = uniqueEmail('ghost')
      for (let i = 0; i < 10; i++) t.equal((await login(app, ghost, `guess ${i}`)).statusCode, 400)
      t.equal((await login(app, ghost, 'guess 11')).statusCode, 429, 'guessing is still limited')
      t.ok(
        lines.some((l) => /Redis is unreachable/.test(l)),
        'the outage is logged',
      )
    },
  )

  await t.test(
    'when Redis goes away mid-flight, logins go on, limited per instance, and sharing resumes with Redis',
    { skip: !TEST_REDIS_URL && REDIS_SKIP_REASON },
    async (t) => {
      const redisUrl = new URL(TEST_REDIS_URL!)
      const proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) })
      t.teardown(() => proxy.close())
      const prefix = redisPrefix(t)
      const { app } = await buildTestApp(
        t,
        {
          RATE_LIMIT_ENABLED: 'true',
          REDIS_URL: viaProxy(TEST_REDIS_URL!, proxy),
          REDIS_KEY_PREFIX: prefix,
          RATE_LIMIT_LOGIN_ACCOUNT: '3/15m',
        },
        dialect,
      )
      const user = await signUp(app)

      // Polls until a failed login on a fresh account leaves a new counter in Redis.
      async function sharedThroughRedis(): Promise<boolean> {
        for (let i = 0; i < 100; i++) {
          const before = (await redisKeys(prefix)).length
          await login(app, uniqueEmail('ghost'), 'a guess')
          if ((await redisKeys(prefix)).length > before) return true
          await sleep(100)
        }
        return false
      }

      for (const mode of ['reset', 'blackhole'] as const) {
        t.ok(await sharedThroughRedis(), `before ${mode}: counters are in Redis`)
        proxy.set(mode)
        const ghost = uniqueEmail('ghost')
        for (let i = 0; i < 3; i++) t.equal((await login(app, ghost, `guess ${i}`)).statusCode, 400, mode)
        t.equal((await login(app, ghost, 'guess 4')).statusCode, 429, `${mode}: limited per instance`)
        t.equal((await login(app, user.email, PASSWORD)).statusCode, 200, `${mode}: sign-in works`)
        // The client reconnects by itself, even from a connection that went silent; no restart.
        proxy.set('forward')
        t.ok(await sharedThroughRedis(), `after ${mode}: counters are shared through Redis again`)
      }
    },
  )
})
