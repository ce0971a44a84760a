import { mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { createSharedDatabaseUrl, dialects, POSTGRES_SKIP_REASON } from '../helpers/databases.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { CLI, runScript, tempDir } from '../helpers/process.js'
import { startServer } from '../helpers/server.js'

// `badge backup FILE` against a running server's SQLite database while refreshes and
// logins write to it: the copy is whole, private, and a working Badge.

const KEY_ENCRYPTION_SECRET = 'backup test secret, 32 characters'
// One issuer for the original and the restored Badge, as a restore on the same domain has.
const ISSUER = 'https://badge.example'
// A CLI process starts through tsx: on a loaded 2-core machine that alone can take 20 s.
const CLI_TIMEOUT_MS = 120_000

interface Tokens {
  access_token: string
  refresh_token: string
}

const sidOf = (accessToken: string) =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid

function form(fields: Record<string, string>) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  }
}

t.test(
  'a backup taken under refresh load is consistent, complete, 0600, and serves as a Badge',
  async (t) => {
    const dir = tempDir(t)
    const databaseFile = join(dir, 'badge.db')
    const env = { DATABASE_URL: `sqlite:${databaseFile}`, KEY_ENCRYPTION_SECRET, ISSUER }
    const server = await startServer(t, env)
    const email = uniqueEmail('backup')
    // The idle session's user is not the one the load logs in again and again: past
    // MAX_SESSIONS_PER_USER the load's logins would end that user's oldest session.
    const idleEmail = uniqueEmail('backup-idle')
    for (const address of [email, idleEmail]) {
      const signUp = await fetch(`${server.url}/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: address, password: PASSWORD }),
      })
      t.equal(signUp.status, 201)
    }
    const login = async (username = email): Promise<Tokens> => {
      const res = await fetch(
        `${server.url}/oauth/token`,
        form({ grant_type: 'password', username, password: PASSWORD }),
      )
      if (res.status !== 200) throw new Error(`login answered ${res.status}`)
      return (await res.json()) as Tokens
    }

    // A session nobody touches after the backup: its refresh token must work from the copy.
    const idle = await login(idleEmail)
    // The load: workers rotating their sessions' refresh tokens and starting new sessions.
    const committed = new Set<string>([sidOf(idle.access_token)])
    let loading = true
    let refreshes = 0
    const failures: string[] = []
    async function worker() {
      let tokens = await login()
      committed.add(sidOf(tokens.access_token))
      while (loading) {
        const res = await fetch(
          `${server.url}/oauth/token`,
          form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
        )
        if (res.status !== 200) {
          failures.push(`refresh answered ${res.status}`)
          return
        }
        tokens = (await res.json()) as Tokens
        refreshes++
        if (refreshes % 10 === 0) {
          tokens = await login()
          // Recorded when the response arrived: committed before anything that starts later.
          committed.add(sidOf(tokens.access_token))
        }
      }
    }
    const workers = Array.from({ length: 4 }, worker)
    while (refreshes < 40) await new Promise((r) => setTimeout(r, 20))

    const before = new Set(committed)
    const refreshesBefore = refreshes
    const backupFile = join(dir, 'backups', 'badge-copy.db')
    mkdirSync(join(dir, 'backups'))
    const result = await runScript(CLI, ['backup', backupFile], {
      cwd: dir,
      env: { ...env, LOG_LEVEL: 'warn' },
      timeoutMs: CLI_TIMEOUT_MS,
    })
    const refreshesDuring = refreshes - refreshesBefore
    loading = false
    await Promise.all(workers)
    t.strictSame(failures, [], 'the load ran without a failed refresh')

    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, /^Backed up \d+ page\(s\) to .*badge-copy\.db\.\n$/)
    t.ok(
      refreshesDuring > 0,
      `the server kept rotating refresh tokens during the backup (${refreshesDuring})`,
    )
    t.equal(statSync(backupFile).mode & 0o777, 0o600, 'the copy is readable by its owner only')
    t.strictSame(
      readdirSync(join(dir, 'backups')),
      ['badge-copy.db'],
      'no partial or journal file left beside it',
    )

    const copy = new SQLite(backupFile, { readonly: true })
    try {
      t.equal(copy.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check passes')
      const sessions = new Set(
        (copy.prepare('select id from sessions').all() as { id: string }[]).map((row) => row.id),
      )
      const missing = [...before].filter((sid) => !sessions.has(sid))
      t.strictSame(missing, [], `all ${before.size} sessions committed before the backup are in it`)
    } finally {
      copy.close()
    }

    // A fresh Badge on the copy: the same keys (so tokens from the original verify), users and sessions.
    const restored = await startServer(t, {
      DATABASE_URL: `sqlite:${backupFile}`,
      KEY_ENCRYPTION_SECRET,
      ISSUER,
    })
    const me = await fetch(`${restored.url}/v1/me`, {
      headers: { authorization: `Bearer ${idle.access_token}` },
    })
    t.equal(me.status, 200, 'an access token signed before the backup verifies on the restored Badge')
    t.equal(((await me.json()) as { email: string }).email, idleEmail)
    const refreshed = await fetch(
      `${restored.url}/oauth/token`,
      form({ grant_type: 'refresh_token', refresh_token: idle.refresh_token }),
    )
    t.equal(refreshed.status, 200, 'a session from before the backup refreshes on the restored Badge')
    const relogin = await fetch(
      `${restored.url}/oauth/token`,
      form({ grant_type: 'password', username: email, password: PASSWORD }),
    )
    t.equal(relogin.status, 200, 'the user logs in on the restored Badge')
  },
)

t.test('backup refuses to overwrite the database it copies', async (t) => {
  const dir = tempDir(t)
  const env = { DATABASE_URL: `sqlite:${join(dir, 'badge.db')}`, LOG_LEVEL: 'warn' }
  const result = await runScript(CLI, ['backup', 'badge.db'], { cwd: dir, env, timeoutMs: CLI_TIMEOUT_MS })
  t.strictSame(result, {
    code: 1,
    stdout: '',
    stderr: 'badge: The backup file cannot be the database itself.\n',
  })
})

t.test(
  'on PostgreSQL, backup points to pg_dump',
  { skip: dialects.length < 2 && POSTGRES_SKIP_REASON },
  async (t) => {
    const url = await createSharedDatabaseUrl(t, dialects[1]!)
    const dir = tempDir(t)
    const result = await runScript(CLI, ['backup', join(dir, 'copy.db')], {
      cwd: dir,
      env: { DATABASE_URL: url, LOG_LEVEL: 'warn' },
      timeoutMs: CLI_TIMEOUT_MS,
    })
    t.strictSame(result, {
      code: 1,
      stdout: '',
      stderr: 'badge: badge backup copies SQLite databases; for PostgreSQL use pg_dump.\n',
    })
    t.strictSame(readdirSync(dir), [], 'nothing was written')
  },
)
