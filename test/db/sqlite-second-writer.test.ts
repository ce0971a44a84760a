import { join } from 'node:path'
import t from 'tap'
import { PASSWORD } from '../helpers/flows.js'
import { CLI, runScript, tempDir } from '../helpers/process.js'
import { startServer } from '../helpers/server.js'

// Issue 13 item 5, end to end: the operator CLI writing to the SQLite file of a running
// server (as the README says it may) never makes a request fail. The server keeps
// refreshing and signing users up while `badge` rotates keys, creates users and purges
// sessions; every answer is a success, none a 500 (SQLITE_BUSY_SNAPSHOT before the fix).

t.test('the CLI beside a running server on one SQLite file causes no failed request', async (t) => {
  const dir = tempDir(t)
  const url = `sqlite:${join(dir, 'badge.db')}`
  const server = await startServer(t, { DATABASE_URL: url })
  const post = (path: string, body: Record<string, string>, json = false) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
    })
  const email = 'second-writer@example.com'
  t.equal((await post('/v1/users', { email, password: PASSWORD }, true)).status, 201)
  const first = await post('/oauth/token', { grant_type: 'password', username: email, password: PASSWORD })
  let refreshToken = ((await first.json()) as { refresh_token: string }).refresh_token

  const statuses: number[] = []
  let cliDone = false
  const traffic = (async () => {
    while (!cliDone) {
      const refreshed = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      })
      statuses.push(refreshed.status)
      if (refreshed.ok) refreshToken = ((await refreshed.json()) as { refresh_token: string }).refresh_token
      // A write of another kind: a sign-up (logins would pile up sessions past the cap).
      const signup = await post(
        '/v1/users',
        { email: `w${statuses.length}@example.com`, password: PASSWORD },
        true,
      )
      statuses.push(signup.status === 201 ? 200 : signup.status)
      await signup.arrayBuffer()
    }
  })()
  const env = { DATABASE_URL: url, BCRYPT_COST: '4', LOG_LEVEL: 'silent', ISSUER: server.url }
  const results = []
  for (let i = 0; i < 2; i++) {
    results.push(await runScript(CLI, ['keys', 'rotate'], { cwd: dir, env }))
    results.push(
      await runScript(CLI, ['users', 'create', '--email', `cli${i}@example.com`], {
        cwd: dir,
        env,
        input: `${PASSWORD}\n`,
      }),
    )
    results.push(await runScript(CLI, ['sessions', 'purge'], { cwd: dir, env }))
  }
  cliDone = true
  await traffic
  t.same(
    results.map((r) => r.code),
    Array(results.length).fill(0),
    'every CLI command succeeded',
  )
  t.ok(statuses.length > 10, `the server was busy meanwhile (${statuses.length} requests)`)
  t.same(
    statuses.filter((s) => s !== 200),
    [],
    'every request beside the CLI succeeded',
  )
})
