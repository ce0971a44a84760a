import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/process.js'

// better-sqlite3 12 aborted Node.js 24 (SIGABRT in Statement::~Statement) when a
// statement was garbage-collected: about half of all `npm start`s on the SQLite default
// died. This starts the real server with a preload that has V8 finalize statements
// constantly while requests are served, and requires a clean exit each time. Against
// better-sqlite3 12 every round aborts within seconds.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PRESSURE = fileURLToPath(new URL('../fixtures/statement-gc-pressure.ts', import.meta.url))
const ROUNDS = 3

async function untilReady(url: string, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (exited()) return
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    )
    if (ready) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  t.test(
    `round ${round}: a server finalizing statements under collection pressure serves and exits cleanly`,
    async (t) => {
      const dir = tempDir(t)
      const port = await freePort()
      const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRESSURE, 'src/server.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: `sqlite:${dir}/data/badge.db`,
          BCRYPT_COST: '4',
          LOG_LEVEL: 'warn',
          RATE_LIMIT_ENABLED: 'false',
          HOST: '127.0.0.1',
          PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      )
      const exited = () => child.exitCode !== null || child.signalCode !== null
      t.teardown(() => {
        if (!exited()) child.kill('SIGKILL')
      })

      const url = `http://127.0.0.1:${port}`
      await untilReady(url, exited)
      t.notOk(exited(), `the server is still running after start-up\n${output}`)

      // Sign-ups, logins, refreshes and reads: every kind of statement the server prepares.
      let ok = 0
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let i = 0; i < 5 && !exited(); i++) {
            const email = `gc-${worker}-${i}@example.com`
            const password = 'correct horse battery staple'
            const signup = await fetch(`${url}/v1/users`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ email, password }),
            }).catch(() => undefined)
            const login = await fetch(`${url}/oauth/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ grant_type: 'password', username: email, password }),
            }).catch(() => undefined)
            const tokens = (await login?.json().catch(() => undefined)) as
              | { refresh_token?: string }
              | undefined
            const refresh = await fetch(`${url}/oauth/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({
                grant_type: 'refresh_token',
                refresh_token: tokens?.refresh_token ?? '',
              }),
            }).catch(() => undefined)
            if (signup?.status === 201 && login?.status === 200 && refresh?.status === 200) ok++
          }
        }),
      )
      t.equal(ok, 40, `every sign-up, login and refresh succeeded\n${output}`)

      // An idle server is where V8 collects from background tasks: the abort came within
      // about three seconds of idling.
      await new Promise((resolve) => setTimeout(resolve, 6000))
      const ready = await fetch(`${url}/health/ready`).then(
        (r) => r.status,
        () => 0,
      )
      t.equal(ready, 200, `the server still answers after idling\n${output}`)

      child.kill('SIGTERM')
      const { code, signal } = await exit
      t.same({ code, signal }, { code: 0, signal: null }, `the process exited cleanly\n${output}`)
    },
  )
}
