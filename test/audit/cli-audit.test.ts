import t from 'tap'
import { runCli } from '../../src/cli/main.js'
import { eachDialect } from '../helpers/app.js'
import { createSharedDatabaseUrl } from '../helpers/databases.js'
import { PASSWORD } from '../helpers/flows.js'

// `badge audit`, in-process (test/cli/cli.test.ts runs the real process for the other
// commands): what the CLI itself did shows up with actor "cli", filtered and paged.

await eachDialect(t, async (t, dialect) => {
  const url = await createSharedDatabaseUrl(t, dialect)
  const badge = async (args: string[], input?: string) => {
    let stdout = ''
    let stderr = ''
    const code = await runCli(args, {
      env: { BCRYPT_COST: '4', LOG_LEVEL: 'silent', DATABASE_URL: url },
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      readStdin: async () => input,
    })
    return { code, stdout, stderr }
  }

  const created = await badge(
    ['users', 'create', '--email', 'ops@example.com', '--admin', '--json'],
    PASSWORD,
  )
  t.equal(created.code, 0, created.stderr)
  const user = JSON.parse(created.stdout)
  const other = await badge(['users', 'create', '--email', 'dev@example.com', '--json'], PASSWORD)
  t.equal(other.code, 0, other.stderr)
  t.equal((await badge(['users', 'disable', 'dev@example.com'])).code, 0)

  const byEmail = await badge(['audit', '--user', 'ops@example.com', '--json'])
  t.equal(byEmail.code, 0, byEmail.stderr)
  t.same(
    JSON.parse(byEmail.stdout).items.map((e: { type: string; actor: string; user_id: string }) => [
      e.type,
      e.actor,
      e.user_id,
    ]),
    [['user.created', 'cli', user.id]],
    'the user the CLI created, by email',
  )
  t.notMatch(byEmail.stdout, PASSWORD)

  const disabled = await badge(['audit', '--type', 'user.disabled', '--json'])
  t.same(
    JSON.parse(disabled.stdout).items.map((e: { details: unknown }) => e.details),
    [{ sessions_revoked: 0 }],
  )

  const page = await badge(['audit', '--type', 'user.created', '--limit', '1'])
  t.equal(page.code, 0)
  const lines = page.stdout.trimEnd().split('\n')
  t.match(lines[0], /^AT +TYPE +ACTOR +USER +CLIENT +IP +DETAILS$/)
  t.match(lines[1], / user\.created +cli /)
  t.match(lines[2], /^More events: badge audit --cursor [A-Za-z0-9_-]+$/)
  const cursor = lines[2]!.split(' ').at(-1)!
  const next = await badge(['audit', '--type', 'user.created', '--limit', '1', '--cursor', cursor, '--json'])
  t.equal(JSON.parse(next.stdout).items.length, 1, 'the second page')
  t.equal(JSON.parse(next.stdout).next_cursor, null)

  const future = await badge(['audit', '--since', '2999-01-01T00:00:00Z'])
  t.same(future, { code: 0, stdout: 'No audit events.\n', stderr: '' })
  t.equal((await badge(['audit', '--type', 'nope'])).code, 2)
  t.equal((await badge(['audit', '--since', 'yesterday'])).code, 2)
  t.same(await badge(['audit', '--user', 'nobody@example.com']), {
    code: 1,
    stdout: '',
    stderr: 'badge: No user has the email nobody@example.com.\n',
  })
})
