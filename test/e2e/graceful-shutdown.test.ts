import { Agent, request } from 'node:http'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { startServer } from '../helpers/server.js'

// SIGTERM to a real server (src/server.ts) under load: readiness turns 503 at once, every
// request in flight finishes with its normal answer, and the process exits 0 within the grace.

const GRACE_SECONDS = 30

interface Outcome {
  beforeSigterm: boolean
  afterSigterm: boolean
  path: string
  status?: number
  error?: string
  body?: string
}

t.test('SIGTERM under load: readiness 503 at once, no in-flight request fails, exit 0', async (t) => {
  const server = await startServer(t, {
    // Real bcrypt work, so logins are still running (and queued) when the signal arrives.
    BCRYPT_COST: '10',
    LOGIN_CONCURRENCY: '2',
    SHUTDOWN_DELAY_SECONDS: '2',
    SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    LOG_LEVEL: 'info',
  })
  const { port } = server
  let signalled = false
  const outcomes: Outcome[] = []

  function send(
    agent: Agent,
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ) {
    const outcome: Outcome = { beforeSigterm: !signalled, afterSigterm: false, path }
    outcomes.push(outcome)
    return new Promise<Outcome>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (d: string) => (text += d))
        res.on('end', () => {
          Object.assign(outcome, { status: res.statusCode, body: text, afterSigterm: signalled })
          resolve(outcome)
        })
      })
      req.on('error', (error: NodeJS.ErrnoException) => {
        Object.assign(outcome, { error: error.code ?? error.message, afterSigterm: signalled })
        resolve(outcome)
      })
      req.end(body)
    })
  }
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const json = { 'content-type': 'application/json' }

  const emails = [uniqueEmail('drain'), uniqueEmail('drain')]
  const setup = new Agent({ keepAlive: true })
  for (const email of emails) {
    const created = await send(
      setup,
      'POST',
      '/v1/users',
      JSON.stringify({ email, password: PASSWORD }),
      json,
    )
    t.equal(created.status, 201)
  }
  setup.destroy()
  outcomes.length = 0

  // Each worker logs in, refreshes and calls /v1/me, over one kept-alive connection, until
  // a request fails (the listener closed) after the signal.
  async function worker(n: number) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const username = emails[n % emails.length]!
    try {
      for (;;) {
        const login = await send(
          agent,
          'POST',
          '/oauth/token',
          new URLSearchParams({ grant_type: 'password', username, password: PASSWORD }).toString(),
          form,
        )
        if (login.status !== 200) return
        const tokens = JSON.parse(login.body!) as { access_token: string; refresh_token: string }
        const refreshed = await send(
          agent,
          'POST',
          '/oauth/token',
          new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token,
          }).toString(),
          form,
        )
        if (refreshed.status !== 200) return
        const me = await send(agent, 'GET', '/v1/me', undefined, {
          authorization: `Bearer ${tokens.access_token}`,
        })
        if (me.status !== 200) return
      }
    } finally {
      agent.destroy()
    }
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    server.process.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const workers = Array.from({ length: 6 }, (_, n) => worker(n))

  // Load runs until a good number of requests completed, then the signal.
  while (outcomes.filter((o) => o.status === 200).length < 30) await new Promise((r) => setTimeout(r, 20))
  signalled = true
  server.process.kill('SIGTERM')

  // Readiness: the first answer that is not 200 is 503, while the API still answers.
  const probe = new Agent({ keepAlive: false })
  let ready: Outcome
  do ready = await send(probe, 'GET', '/health/ready')
  while (ready.status === 200)
  t.equal(ready.status, 503, 'readiness turns 503')
  t.equal(JSON.parse(ready.body ?? '{}').error, 'temporarily_unavailable')
  t.equal((await send(probe, 'GET', '/health/live')).status, 200, 'the API still serves during the delay')

  const exit = await Promise.race([
    exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), GRACE_SECONDS * 1000).unref()),
  ])
  t.strictSame(exit, { code: 0, signal: null }, 'the process exits 0 within the grace period')
  await Promise.all(workers)

  const inFlight = outcomes.filter((o) => o.beforeSigterm && o.afterSigterm)
  t.ok(inFlight.length >= 1, `requests were in flight at the signal (${inFlight.length})`)
  const failedInFlight = outcomes.filter((o) => o.beforeSigterm && o.status !== 200)
  t.strictSame(failedInFlight, [], 'every request sent before the signal got its normal answer')
  const served5xx = outcomes.filter(
    (o) => o.status !== undefined && o.status >= 500 && o.path !== '/health/ready',
  )
  t.strictSame(served5xx, [], 'no request was answered with a 5xx')
  t.ok(
    outcomes.some((o) => !o.beforeSigterm && o.status === 200 && o.path !== '/health/live'),
    'requests sent after the signal were still served while load balancers catch up',
  )
  t.match(server.output(), /shut down cleanly/)
})

t.test('the shutdown delay must fit in the grace period', async (t) => {
  t.strictSame(loadConfig({}).shutdown, { graceSeconds: 10, delaySeconds: 0 })
  t.throws(() => loadConfig({ SHUTDOWN_GRACE_SECONDS: '5', SHUTDOWN_DELAY_SECONDS: '5' }), {
    message: 'Invalid configuration: SHUTDOWN_DELAY_SECONDS must be less than SHUTDOWN_GRACE_SECONDS',
  })
  t.throws(() => loadConfig({ SHUTDOWN_GRACE_SECONDS: '0' }), {
    message: /^Invalid configuration: SHUTDOWN_GRACE_SECONDS /,
  })
})
