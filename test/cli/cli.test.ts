import { createHash } from 'node:crypto'
import t from 'tap'
import { buildAppOn, eachDialect } from '../helpers/app.js'
import { createSharedDatabaseUrl } from '../helpers/databases.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant } from '../helpers/flows.js'
import { jwksKids, kidOf } from '../helpers/keys.js'
import { enableTotp } from '../helpers/mfa.js'
import { CLI, runScript, tempDir } from '../helpers/process.js'

// `badge …` run as a child process against a database that a Badge app (built in this
// process) also uses, so every command's effect is checked through the HTTP API.
// Argument and validation errors are covered in-process by usage.test.ts.

const BASE_ENV = { BCRYPT_COST: '4', LOG_LEVEL: 'silent', ISSUER: 'http://badge.test' }

await eachDialect(t, async (t, dialect) => {
  const cwd = tempDir(t)
  const url = await createSharedDatabaseUrl(t, dialect)
  const badge = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) =>
    runScript(CLI, args, {
      cwd,
      env: { ...BASE_ENV, DATABASE_URL: url, ...options.env },
      input: options.input,
    })

  await t.test('migrate applies the schema to an empty database', async (t) => {
    t.same(await badge(['migrate']), {
      code: 0,
      stdout:
        'Applied migrations: 0001_core, 0002_security, 0003_account, 0004_mfa, 0005_revocations, 0006_audit, 0007_email_change, 0008_passkeys, 0009_dpop.\n',
      stderr: '',
    })
  })

  const { app, clock } = await buildAppOn(t, url)

  await t.test('users create makes a user who logs in over HTTP with the scopes given', async (t) => {
    const res = await badge(['users', 'create', '--email', ' Ops@Example.com ', '--admin', '--json'], {
      input: `${PASSWORD}\n`,
    })
    t.equal(res.code, 0, res.stderr)
    const user = JSON.parse(res.stdout)
    t.same(Object.keys(user).sort(), [
      'created_at',
      'disabled',
      'email',
      'email_verified',
      'id',
      'name',
      'scopes',
    ])
    t.equal(user.email, 'ops@example.com')
    t.same(user.scopes, ['admin', 'profile:read', 'profile:write'])
    t.equal(user.disabled, false)

    const grant = await passwordGrant(app, { username: 'ops@example.com', password: PASSWORD })
    t.equal(grant.statusCode, 200, 'the trailing newline from stdin is not part of the password')
    t.equal(grant.json().scope, 'admin profile:read profile:write')
    const me = await app.inject({ url: '/v1/me', headers: bearer(grant.json().access_token) })
    t.equal(me.json().id, user.id)

    const taken = await badge(['users', 'create', '--email', 'OPS@example.com'], { input: PASSWORD })
    t.same(taken, { code: 1, stdout: '', stderr: 'badge: An account with this email already exists.\n' })
  })

  await t.test('users list shows the users as JSON', async (t) => {
    const { user } = await login(app)
    const res = await badge(['users', 'list', '--json'])
    t.equal(res.code, 0)
    const page = JSON.parse(res.stdout)
    // Sorted: the app's test clock and the CLI's system clock order creation differently.
    t.same(page.items.map((u: { email: string }) => u.email).sort(), ['ops@example.com', user.email].sort())
    t.equal(page.next_cursor, null)
  })

  await t.test('users disable ends logins and every session of the user', async (t) => {
    const { user, tokens } = await login(app)
    const res = await badge(['users', 'disable', user.email])
    t.same(res, {
      code: 0,
      stdout: `Disabled user ${user.email} (${user.id}); their sessions are revoked.\n`,
      stderr: '',
    })
    const refresh = await refreshGrant(app, tokens.refresh_token)
    t.equal(refresh.statusCode, 400)
    t.equal(refresh.json().error, 'invalid_grant')
    const again = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(again.statusCode, 400)
    t.equal(again.json().error, 'invalid_grant')
  })

  await t.test(
    'keys rotate makes a new active key the running app signs with after its reload',
    async (t) => {
      const { tokens: before } = await login(app)
      const res = await badge(['keys', 'rotate', '--json'])
      t.equal(res.code, 0, res.stderr)
      const rotated = JSON.parse(res.stdout)
      t.equal(rotated.alg, 'EdDSA')

      await app.services.keys.reload()
      t.same(await jwksKids(app), [kidOf(before.access_token), rotated.kid].sort())
      t.equal(kidOf((await login(app)).tokens.access_token), rotated.kid)
      t.equal(
        (await app.inject({ url: '/v1/me/claims', headers: bearer(before.access_token) })).statusCode,
        200,
      )

      const list = await badge(['keys', 'list'])
      const lines = list.stdout.trimEnd().split('\n')
      t.match(lines[0], /^KID +ALG +STATUS +CREATED +ACTIVATED +RETIRING$/)
      t.match(lines[1], new RegExp(`^${rotated.kid} +EdDSA +active `))
      t.match(lines[2], new RegExp(`^${kidOf(before.access_token)} +EdDSA +retiring `))
      t.equal(lines.length, 3)
    },
  )

  await t.test(
    'clients create shows the secret once and stores only its hash; list and delete',
    async (t) => {
      const res = await badge([
        'clients',
        'create',
        '--name',
        'billing',
        '--scopes',
        'profile:read',
        '--json',
      ])
      t.equal(res.code, 0, res.stderr)
      const client = JSON.parse(res.stdout)
      t.same(Object.keys(client), ['client_id', 'client_secret', 'name', 'scopes', 'created_at'])
      t.match(client.client_id, /^[0-9a-f]{32}$/)
      t.match(client.client_secret, /^[A-Za-z0-9_-]{43}$/, '256 bits')
      t.same(client.scopes, ['profile:read'])
      const row = await app.services.database.db
        .selectFrom('clients')
        .selectAll()
        .where('client_id', '=', client.client_id)
        .executeTakeFirstOrThrow()
      t.equal(row.secret_hash, createHash('sha256').update(client.client_secret).digest('hex'))

      const list = await badge(['clients', 'list', '--json'])
      const { client_secret: _shownOnce, ...listed } = client
      t.same(JSON.parse(list.stdout), { items: [listed] })
      t.notMatch(list.stdout, client.client_secret)

      const deleted = await badge(['clients', 'delete', client.client_id])
      t.same(deleted, { code: 0, stdout: `Deleted client ${client.client_id}.\n`, stderr: '' })
      t.same(await app.services.clients.listClients(), [])
    },
  )

  await t.test(
    'sessions purge deletes ended sessions and their refresh tokens, and keeps live ones',
    async (t) => {
      const live = await login(app)
      const ended = await login(app)
      await app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        payload: { token: ended.tokens.refresh_token },
      })
      const { db } = app.services.database
      const revoked = () =>
        db.selectFrom('sessions').select('id').where('revoked_at', 'is not', null).execute()
      const endedCount = (await revoked()).length
      // The app's own maintenance pass (every 60 s) may have purged the disabled user's
      // session already when this file runs long on a busy machine.
      t.ok(endedCount >= 1, 'the revoked session, and the disabled user’s unless already purged')

      const res = await badge(['sessions', 'purge', '--json'])
      t.equal(res.code, 0, res.stderr)
      const purged = JSON.parse(res.stdout)
      t.equal(purged.sessions, endedCount)
      t.ok(purged.refresh_tokens >= endedCount)
      t.same(await revoked(), [])
      t.equal((await refreshGrant(app, live.tokens.refresh_token)).statusCode, 200, 'live sessions stay')
      t.equal((await refreshGrant(app, ended.tokens.refresh_token)).json().error, 'invalid_grant')
    },
  )

  // After the purge test: the app's first maintenance pass, a minute after it started,
  // purges ended sessions, and on a busy machine a longer run reaches it before that test.
  await t.test('users mfa shows a user’s second factors; users reset-mfa removes them', async (t) => {
    const { user, tokens } = await login(app)
    await enableTotp(app, tokens.access_token, clock)
    const shown = await badge(['users', 'mfa', user.email, '--json'])
    t.equal(shown.code, 0, shown.stderr)
    t.same(JSON.parse(shown.stdout), {
      id: user.id,
      email: user.email,
      totp: true,
      passkeys: 0,
      recovery_codes_left: 10,
    })
    const reset = await badge(['users', 'reset-mfa', user.id])
    t.same(reset, {
      code: 0,
      stdout: `Removed the second factors of ${user.email} (${user.id}); their sessions are revoked.\n`,
      stderr: '',
    })
    t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 400)
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })
})

t.test('keys rotate with the wrong KEY_ENCRYPTION_SECRET fails in one line and writes nothing', async (t) => {
  const cwd = tempDir(t)
  const url = `sqlite:${cwd}/badge.db`
  const secret = 'the secret the servers use, 32+ chars'
  const { app } = await buildAppOn(t, url, { KEY_ENCRYPTION_SECRET: secret })
  const [kid] = await jwksKids(app)
  const env = { ...BASE_ENV, DATABASE_URL: url }

  const wrong = await runScript(CLI, ['keys', 'rotate'], {
    cwd,
    env: { ...env, KEY_ENCRYPTION_SECRET: 'another secret of enough length' },
  })
  t.same(wrong, {
    code: 1,
    stdout: '',
    stderr: `badge: KEY_ENCRYPTION_SECRET does not decrypt signing key ${kid}: it is not the secret the keys were encrypted with\n`,
  })
  t.equal((await app.services.keys.listKeys()).length, 1, 'no key was written')

  const right = await runScript(CLI, ['keys', 'rotate', '--json'], {
    cwd,
    env: { ...env, KEY_ENCRYPTION_SECRET: secret },
  })
  t.equal(right.code, 0, right.stderr)
  await app.services.keys.reload()
  t.equal(
    kidOf((await login(app)).tokens.access_token),
    JSON.parse(right.stdout).kid,
    'the app opens the new key',
  )
})

t.test('the entry point prints help and exits 0', async (t) => {
  const help = await runScript(CLI, ['--help'], { cwd: tempDir(t), env: BASE_ENV })
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: badge <command> \[options\]\n/)
})
