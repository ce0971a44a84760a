import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { type Env, loadConfig } from '../../src/config.js'
import { type BadgeDatabase, createDatabase } from '../../src/db/index.js'
import { type TestClock, testClock } from './clock.js'
import {
  dialects,
  openTestDatabase,
  POSTGRES_SKIP_REASON,
  TEST_DATABASE_URL,
  type TestDialect,
} from './databases.js'
import { validatorFor } from './openapi-validator.js'

export const TEST_ENV: Env = {
  DATABASE_URL: 'sqlite::memory:',
  BCRYPT_COST: '4',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_ENABLED: 'false',
  ISSUER: 'http://badge.test',
}

export interface TestApp {
  app: FastifyInstance
  clock: TestClock
  database: BadgeDatabase & { url: string }
}

/** An app on a fresh database of `dialect` with bcrypt cost 4 and a hand-moved clock. */
export async function buildTestApp(
  t: Test,
  env: Env = {},
  dialect: TestDialect = dialects[0]!,
): Promise<TestApp> {
  const database = await openTestDatabase(t, dialect)
  const clock = testClock()
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: database.url })
  const app = await buildApp(config, { database, clock, maintenanceTimer: false })
  checkResponsesAgainstOpenApi(t, app)
  t.teardown(() => app.close())
  return { app, clock, database }
}

/**
 * Every response of a test app is checked against the app's own OpenAPI document
 * (the one openapi.yaml is generated from): an undocumented status, body field, error
 * code or missing required header fails the test that received it.
 */
export function checkResponsesAgainstOpenApi(t: Test, app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    // The docs UI, its assets and /openapi.json are not API operations.
    if (request.routeOptions.schema?.hide || request.method === 'HEAD') return payload
    // Fastify sends no body with 204 and 304, whatever the serializer produced.
    const body =
      payload === null || payload === undefined || reply.statusCode === 204 || reply.statusCode === 304
        ? ''
        : typeof payload === 'string' || Buffer.isBuffer(payload)
          ? payload.toString()
          : undefined
    if (body === undefined) return payload
    const url = request.routeOptions.url
    const problems = validatorFor(app.swagger() as Record<string, unknown>).validate({
      method: request.method,
      path: url?.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
      status: reply.statusCode,
      headers: reply.getHeaders(),
      body,
    })
    if (problems.length > 0)
      t.fail(
        `${request.method} ${url ?? request.url} → ${reply.statusCode} does not match the OpenAPI document`,
        {
          problems,
          body: body.slice(0, 500),
        },
      )
    return payload
  })
}

/**
 * Runs `fn` once per dialect as a subtest. PostgreSQL is reported as skipped, with
 * the reason, when TEST_DATABASE_URL is not set.
 */
export async function eachDialect(
  t: Test,
  fn: (t: Test, dialect: TestDialect) => Promise<void>,
): Promise<void> {
  for (const dialect of dialects) await t.test(dialect.name, (t) => fn(t, dialect))
  if (!TEST_DATABASE_URL) await t.test('postgres', { skip: POSTGRES_SKIP_REASON }, async () => {})
}

/**
 * Another instance on the same database as `first` (PostgreSQL only: an in-memory
 * SQLite database belongs to one connection), with its own pool, key set and clock.
 */
export async function buildSecondInstance(t: Test, first: TestApp, env: Env = {}): Promise<TestApp> {
  if (first.database.dialect !== 'postgres') throw new Error('several instances need PostgreSQL')
  const database = Object.assign(createDatabase({ url: first.database.url, poolMax: 5 }), {
    url: first.database.url,
  })
  const clock = testClock()
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: database.url })
  const app = await buildApp(config, { database, clock, maintenanceTimer: false })
  t.teardown(async () => {
    await app.close()
    await database.close()
  })
  return { app, clock, database }
}

/**
 * Another Badge instance on the database at `url` (see createSharedDatabaseUrl), with a
 * connection of its own, as a second server would have. Closed when the test ends.
 */
export async function buildAppOn(
  t: Test,
  url: string,
  env: Env = {},
  clock: TestClock = testClock(),
): Promise<{ app: FastifyInstance; clock: TestClock }> {
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: url })
  const app = await buildApp(config, { clock, maintenanceTimer: false })
  t.teardown(() => app.close())
  return { app, clock }
}
