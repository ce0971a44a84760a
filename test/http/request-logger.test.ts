import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TEST_ENV } from '../helpers/app.js'

// Per-request loggers are built only when a line can be written (src/logger.ts
// loggerOptions): at every level that logs, each request's lines still carry its
// own reqId, and at silent nothing at all is written.

async function appAt(t: Test, level: string) {
  const lines: Array<Record<string, unknown>> = []
  const app = await buildApp(loadConfig({ ...TEST_ENV, LOG_LEVEL: level }), {
    logStream: { write: (line) => void lines.push(JSON.parse(line)) },
  })
  t.teardown(() => app.close())
  return { app, lines }
}

t.test('at info, every request logs its own reqId', async (t) => {
  const { app, lines } = await appAt(t, 'info')
  await app.inject({ url: '/health/live' })
  await app.inject({ url: '/no/such/route' })
  const requestLines = lines.filter((line) => line.reqId !== undefined)
  const ids = new Set(requestLines.map((line) => line.reqId))
  t.equal(ids.size, 2, 'two requests, two reqIds')
  for (const id of ids)
    t.same(
      requestLines.filter((line) => line.reqId === id).map((line) => line.msg),
      ['incoming request', 'request completed'],
      `${id}: its incoming and completed lines`,
    )
})

t.test('at silent, nothing is written', async (t) => {
  const { app, lines } = await appAt(t, 'silent')
  await app.inject({ url: '/health/live' })
  await app.inject({ url: '/v1/me' })
  t.same(lines, [])
})
