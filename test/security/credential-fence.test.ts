import t, { type Test } from 'tap'
import { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD, basic } from '../helpers/admin.js'
import { eachDialect } from '../helpers/app.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { buildHttpTestApp, type HttpAnswer, type HttpTestApp } from '../helpers/http-app.js'

// Issue 13 items 1 and 7: a login in flight (its password checked at BCRYPT_COST=12)
// must not outlive a password change, a disable (even re-enabled at once) or a deletion
// that commits meanwhile: users/credential-fence.ts. Driven over real HTTP by attackers
// logging in in a loop with the old password while the change happens.

const ENV = { ...ADMIN_ENV, BCRYPT_COST: '12', LOGIN_CONCURRENCY: '4' }

async function signUp(h: HttpTestApp) {
  const email = uniqueEmail('fence')
  const res = await fetch(`${h.base}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  if (res.status !== 201) throw new Error(`sign-up: ${res.status}`)
  return { email, id: ((await res.json()) as { id: string }).id }
}

const login = (h: HttpTestApp, username: string, password = PASSWORD, headers: Record<string, string> = {}) =>
  h.post('/oauth/token', { grant_type: 'password', username, password }, headers)

/**
 * Three attackers log in with `email`/PASSWORD in a loop until `change` has finished;
 * every login started is awaited. Returns every answer they got.
 */
async function raceLogins(
  h: HttpTestApp,
  email: string,
  change: () => Promise<void>,
  headers: Record<string, string> = {},
): Promise<HttpAnswer[]> {
  const answers: HttpAnswer[] = []
  let changed = false
  const attacker = async () => {
    while (!changed) answers.push(await login(h, email, PASSWORD, headers))
  }
  const attackers = [attacker(), attacker(), attacker()]
  // Let every attacker get a login into bcrypt before the change starts.
  await new Promise((resolve) => setTimeout(resolve, 150))
  await change()
  changed = true
  await Promise.all(attackers)
  return answers
}

async function openSessions(h: HttpTestApp, userId: string) {
  const rows = await h.database.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute()
  return rows.length
}

function noServerErrors(t: Test, answers: HttpAnswer[]) {
  const statuses = answers.map((a) => a.status)
  t.same(
    statuses.filter((s) => s !== 200 && s !== 400),
    [],
    `every racing login is 200 or 400, never 5xx (${answers.length} logins)`,
  )
  for (const a of answers.filter((a) => a.status === 400)) t.equal(a.body.error, 'invalid_grant')
}

await eachDialect(t, async (t, dialect) => {
  await t.test('a login racing a password change leaves no session behind', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const user = await signUp(h)
    const first = await login(h, user.email)
    const answers = await raceLogins(h, user.email, async () => {
      const res = await h.call('POST', '/v1/me/password', String(first.body.access_token), {
        current_password: PASSWORD,
        new_password: 'a brand new passphrase',
      })
      t.equal(res.status, 204, 'the password was changed')
    })
    noServerErrors(t, answers)
    t.ok(
      answers.some((a) => a.status === 200),
      'some racing logins succeeded before the change (the race was real)',
    )
    t.equal(await openSessions(h, user.id), 0, 'no session opened with the old password survives')
    for (const a of answers.filter((a) => a.status === 200)) {
      const refreshed = await h.post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: String(a.body.refresh_token),
      })
      t.equal(refreshed.status, 400, 'an old-password refresh token is dead')
    }
  })

  await t.test('a login racing a disable and an immediate re-enable leaves no session', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const admin = String((await login(h, ADMIN_EMAIL, ADMIN_PASSWORD)).body.access_token)
    const user = await signUp(h)
    const answers = await raceLogins(h, user.email, async () => {
      const off = await h.call('PATCH', `/v1/admin/users/${user.id}`, admin, { disabled: true })
      t.equal(off.status, 200, 'disabled')
    })
    // Re-enabled before the logins still in flight could finish on main.
    const on = await h.call('PATCH', `/v1/admin/users/${user.id}`, admin, { disabled: false })
    t.equal(on.status, 200, 're-enabled')
    noServerErrors(t, answers)
    t.equal(await openSessions(h, user.id), 0, 'no session checked before the disable survives')
  })

  await t.test('a login racing the deletion of its user is 400 invalid_grant, never 500', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const admin = String((await login(h, ADMIN_EMAIL, ADMIN_PASSWORD)).body.access_token)
    const user = await signUp(h)
    const answers = await raceLogins(h, user.email, async () => {
      const res = await h.call('DELETE', `/v1/admin/users/${user.id}`, admin)
      t.equal(res.status, 204, 'deleted')
    })
    noServerErrors(t, answers)
    t.equal(await openSessions(h, user.id), 0, 'the deleted user has no session')
  })

  await t.test('a login through a registered client racing its deletion leaves no session', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const admin = String((await login(h, ADMIN_EMAIL, ADMIN_PASSWORD)).body.access_token)
    const created = await fetch(`${h.base}/v1/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'doomed', scopes: ['profile:read'] }),
    })
    const client = (await created.json()) as { client_id: string; client_secret: string }
    const user = await signUp(h)
    const answers = await raceLogins(
      h,
      user.email,
      async () => {
        const res = await h.call('DELETE', `/v1/admin/clients/${client.client_id}`, admin)
        t.equal(res.status, 204, 'deleted')
      },
      basic(client.client_id, client.client_secret),
    )
    t.same(
      answers.map((a) => a.status).filter((s) => s !== 200 && s !== 401),
      [],
      `every racing login is 200 or 401 invalid_client (${answers.length} logins)`,
    )
    t.equal(await openSessions(h, user.id), 0, 'no session through the deleted client survives')
  })
})
