import t from 'tap'
import { runCli } from '../../src/cli/main.js'
import { PASSWORD } from '../helpers/flows.js'
import { tempDir } from '../helpers/process.js'

// The CLI's parsing, validation and messages, run in-process (cli.test.ts runs the real
// process): every mistake is one line on stderr, exit 2 for misuse, 1 for failures.

const BASE_ENV = { BCRYPT_COST: '4', LOG_LEVEL: 'silent' }

function cli(env: Record<string, string>) {
  return async (args: string[], input?: string) => {
    let stdout = ''
    let stderr = ''
    const code = await runCli(args, {
      env: { ...BASE_ENV, ...env },
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      readStdin: async () => input,
    })
    return { code, stdout, stderr }
  }
}

t.test('help lists every command; each command has its own help', async (t) => {
  const badge = cli({ DATABASE_URL: 'sqlite::memory:' })
  const help = await badge(['--help'])
  t.equal(help.code, 0)
  for (const command of [
    'users create',
    'users list',
    'users disable',
    'clients create',
    'clients list',
    'clients delete',
    'keys rotate',
    'keys list',
    'migrate',
    'sessions purge',
    'audit',
    'users verify',
    'users reset-link',
    'outbox list',
    'outbox retry',
  ]) {
    t.match(help.stdout, new RegExp(`\\n  ${command} +\\S`), command)
  }
  t.equal((await badge([])).code, 2, 'no command is misuse, with the help shown')
  const create = await badge(['users', 'create', '--help'])
  t.equal(create.code, 0)
  t.match(create.stdout, /^Usage: badge users create \[options\]\n/)
  t.match(create.stdout, /\n {2}--email EMAIL +email address \(required\)\n/)
  const group = await badge(['keys', '--help'])
  t.equal(group.code, 0)
  t.match(group.stdout, /^badge keys rotate +\S.*\nbadge keys list +\S/)
})

t.test('misuse is exit 2 with one line naming the problem', async (t) => {
  const badge = cli({ DATABASE_URL: `sqlite:${tempDir(t)}/badge.db` })
  const cases: Array<[string[], string, string?]> = [
    [
      ['frobnicate'],
      'unknown command "frobnicate" (commands: users, outbox, clients, keys, migrate, sessions, backup, audit; see badge --help)',
    ],
    [
      ['users', 'frob'],
      '"users frob" is not a command; try users create, users list, users show, users disable, users enable, users mfa, users reset-mfa, users verify, users reset-link',
    ],
    [['keys', 'list', '--verbose'], "unknown option '--verbose' (see badge keys list --help)"],
    [
      ['keys', 'list', '--json=yes'],
      "Option '--json' does not take an argument (see badge keys list --help)",
    ],
    [['keys', 'list', 'extra'], 'unexpected argument "extra" (see badge keys list --help)'],
    [['clients', 'delete'], 'expected <client_id> (see badge clients delete --help)'],
    [['users', 'create'], '--email is required'],
    [['users', 'create', '--email', 'not-an-email'], '--email must be an email address'],
    [['users', 'create', '--email', 'a@example.com'], 'password must be at least 8 characters', 'short'],
    [
      ['users', 'create', '--email', 'a@example.com'],
      'give the password on standard input (or with --password)',
    ],
    [
      ['users', 'create', '--email', 'a@example.com', '--admin', '--scopes', 'admin'],
      'give --admin or --scopes, not both',
      PASSWORD,
    ],
    [
      ['users', 'create', '--email', 'a@example.com', '--scopes', 'admin root'],
      'unknown scope root (SCOPES is "profile:read profile:write admin")',
      PASSWORD,
    ],
    [['users', 'list', '--limit', '0'], '--limit must be a whole number from 1 to 1000'],
    [
      ['users', 'list', '--cursor', 'nonsense'],
      'cursor is malformed: pass back next_cursor exactly as received.',
    ],
    [['clients', 'create', '--name', 'x'], '--scopes is required'],
    [
      ['clients', 'create', '--name', 'x', '--scopes', 'payments:write'],
      'unknown scope payments:write (SCOPES is "profile:read profile:write admin")',
    ],
    [['keys', 'rotate', '--alg', 'none'], '--alg must be one of EdDSA, ES256, RS256, HS256'],
  ]
  for (const [args, message, input] of cases) {
    const res = await badge(args, input)
    const expectedCode = message.startsWith('cursor') ? 1 : 2
    t.same(res, { code: expectedCode, stdout: '', stderr: `badge: ${message}\n` }, args.join(' '))
  }
})

t.test('failures the operator must act on are exit 1 with one line', async (t) => {
  const badge = cli({ DATABASE_URL: `sqlite:${tempDir(t)}/badge.db` })
  t.same(await badge(['users', 'disable', 'nobody@example.com']), {
    code: 1,
    stdout: '',
    stderr: 'badge: No user has the email nobody@example.com.\n',
  })
  t.same(await badge(['users', 'enable', '00000000-0000-4000-8000-000000000000']), {
    code: 1,
    stdout: '',
    stderr: 'badge: No user has this id.\n',
  })
  t.same(await badge(['clients', 'delete', 'c0ffee']), {
    code: 1,
    stdout: '',
    stderr: 'badge: No client has this id.\n',
  })
  t.same(await badge(['keys', 'list'], undefined), {
    code: 0,
    stdout: 'No signing keys yet: the server creates one on first start (or run badge keys rotate).\n',
    stderr: '',
  })
  const bad = cli({ DATABASE_URL: 'sqlite::memory:', ACCESS_TOKEN_TTL: 'abc' })
  t.same(await bad(['keys', 'list']), {
    code: 1,
    stdout: '',
    stderr:
      'badge: Invalid configuration: ACCESS_TOKEN_TTL must be a whole number of seconds (access token lifetime)\n',
  })
  const unreachable = cli({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/badge' })
  const down = await unreachable(['migrate'])
  t.equal(down.code, 1)
  t.match(down.stderr, /^badge: [^\n]*ECONNREFUSED[^\n]*\n$/, 'one line, not a stack trace')
})

t.test('text output: users, pages, enabling, clients and keys for people', async (t) => {
  const badge = cli({ DATABASE_URL: `sqlite:${tempDir(t)}/badge.db` })
  const created = await badge(
    ['users', 'create', '--email', 'grace@example.com', '--name', 'Grace'],
    PASSWORD,
  )
  t.match(
    created.stdout,
    /^Created user grace@example.com \([0-9a-f-]{36}\) with scopes: profile:read profile:write\n$/,
  )
  await badge(['users', 'create', '--email', 'ada@example.com', '--scopes', 'profile:read,admin'], PASSWORD)

  const page = await badge(['users', 'list', '--limit', '1'])
  const lines = page.stdout.trimEnd().split('\n')
  t.match(lines[0], /^ID +EMAIL +NAME +SCOPES +DISABLED +CREATED$/)
  t.match(lines[1], /^[0-9a-f-]{36} +grace@example\.com +Grace +profile:read profile:write +no +\d{4}-/)
  t.match(lines[2], /^More users: badge users list --cursor \S+$/)
  const rest = await badge(['users', 'list', '--json', '--cursor', lines[2]!.split(' ').pop()!])
  const restPage = JSON.parse(rest.stdout)
  t.same(
    restPage.items.map((u: { email: string; scopes: string[] }) => [u.email, u.scopes]),
    [['ada@example.com', ['profile:read', 'admin']]],
  )
  t.equal(restPage.next_cursor, null)

  const disabled = await badge(['users', 'disable', 'ada@example.com', '--json'])
  t.equal(JSON.parse(disabled.stdout).disabled, true)
  const enabled = await badge(['users', 'enable', 'ADA@example.com'])
  t.match(enabled.stdout, /^Enabled user ada@example.com \([0-9a-f-]{36}\)\.\n$/)
  const shown = await badge(['users', 'show', 'ada@example.com'])
  t.match(shown.stdout, /^id: +[0-9a-f-]{36}\nemail: +ada@example\.com\n[\s\S]*disabled: +no\n/)

  const client = await badge(['clients', 'create', '--name', 'worker', '--scopes', 'profile:read'])
  t.match(
    client.stdout,
    /^client_id: +[0-9a-f]{32}\nclient_secret: +[A-Za-z0-9_-]{43}\nname: +worker\nscopes: +profile:read\nThe secret is shown only now: Badge keeps just its hash\.\n$/,
  )
  t.match(
    (await badge(['clients', 'list'])).stdout,
    /^CLIENT_ID +NAME +SCOPES +CREATED\n[0-9a-f]{32} +worker +profile:read +\d{4}-/,
  )

  const introspector = await badge(['clients', 'create', '--name', 'introspector', '--scopes', '', '--json'])
  t.equal(introspector.code, 0, introspector.stderr)
  t.same(JSON.parse(introspector.stdout).scopes, [], '--scopes "" makes a client that only introspects')

  const rotated = await badge(['keys', 'rotate', '--alg', 'ES256'])
  t.match(
    rotated.stdout,
    /^Rotated: \S+ \(ES256\) is now the active signing key; any previous key is retiring\.\n$/,
  )
  t.same(JSON.parse((await badge(['migrate', '--json'])).stdout), { applied: [] })
  t.equal((await badge(['sessions', 'purge'])).stdout, 'Purged 0 ended session(s) and 0 refresh token(s).\n')
})

t.test('with a secret set, keys rotate refuses to seal a key next to unencrypted ones', async (t) => {
  const url = `sqlite:${tempDir(t)}/badge.db`
  await cli({ DATABASE_URL: url })(['keys', 'rotate'])
  const sealed = await cli({ DATABASE_URL: url, KEY_ENCRYPTION_SECRET: 'x'.repeat(32) })(['keys', 'rotate'])
  t.same(sealed, {
    code: 1,
    stdout: '',
    stderr:
      'badge: KEY_ENCRYPTION_SECRET is set but the signing keys are stored unencrypted: start a server with the secret first (it encrypts them), or unset it here\n',
  })
  t.equal(JSON.parse((await cli({ DATABASE_URL: url })(['keys', 'list', '--json'])).stdout).items.length, 1)
})
