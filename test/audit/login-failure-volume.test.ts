import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { signUp } from '../helpers/flows.js'

// docs/audit.md, Bounded write volume: a brute-force run cannot fill the disk. 10,000
// failed logins from one address (against a real account and unknown ones, with the
// failed-login throttle on, so most are refused with 429 before any bcrypt work) write
// the first AUDIT_LOGIN_FAILURES_BURST one by one, then one per power of two: 29 rows,
// the last of which still says how many there were. The run goes through the password
// grant itself (oauth/grants.ts, what POST /oauth/token calls) rather than HTTP, so that
// 10,000 attempts stay quick on a shared machine; the first attempt goes over HTTP.

const ATTACKER = '198.51.100.9'
const ATTEMPTS = 10_000
const BURST = 20

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(
    t,
    { RATE_LIMIT_ENABLED: 'true', AUDIT_LOGIN_FAILURES_BURST: String(BURST) },
    dialect,
  )
  const victim = await signUp(app)
  const overHttp = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: ATTACKER,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'password',
      username: victim.email,
      password: 'guess 0',
    }).toString(),
  })
  t.equal(overHttp.statusCode, 400)
  const attempt = (i: number) =>
    app.services.grants
      .passwordGrant({
        username: i % 2 ? victim.email : `nobody${i}@example.com`,
        password: `guess number ${i}`,
        clientId: 'badge',
        userAgent: 'brute/1.0',
        delivery: 'body',
        address: ATTACKER,
        who: { actor: null, ip: ATTACKER, userAgent: 'brute/1.0' },
      })
      .then(
        () => 200,
        (error: { statusCode?: number }) => error.statusCode ?? 500,
      )
  const statuses = new Map<number, number>()
  for (let i = 1; i < ATTEMPTS; i += 25) {
    const size = Math.min(25, ATTEMPTS - i)
    const batch = await Promise.all(Array.from({ length: size }, (_, j) => attempt(i + j)))
    for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  t.same([...statuses.keys()].sort(), [400, 429], 'every attempt failed: wrong password or throttled')
  t.equal([...statuses.values()].reduce((a, b) => a + b) + 1, ATTEMPTS)

  const rows = await database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('type', '=', 'login.failed')
    .where('ip', '=', ATTACKER)
    .execute()
  const counts = rows.map((r) => JSON.parse(r.details).failures_from_address as number).sort((a, b) => a - b)
  const powersOfTwo = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
  t.same(
    counts,
    [...Array.from({ length: BURST }, (_, i) => i + 1), ...powersOfTwo],
    `${rows.length} rows for ${ATTEMPTS} failures: the burst, then powers of two`,
  )
  t.ok(rows.length <= BURST + Math.ceil(Math.log2(ATTEMPTS)), 'bounded by burst + log2(failures)')
  t.ok(
    rows.every((r) => {
      const details = JSON.parse(r.details)
      return (details.sampled === true) === details.failures_from_address > BURST
    }),
    'exactly the rows past the burst say they are sampled',
  )
  t.same(
    new Set(rows.map((r) => JSON.parse(r.details).reason)),
    new Set(['invalid_credentials', 'too_many_requests']),
    'both wrong passwords and throttled attempts are failures',
  )

  // Another address in the same window is recorded from its first failure.
  clock.advance(1000)
  const other = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: '192.0.2.44',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'password',
      username: victim.email,
      password: 'x',
    }).toString(),
  })
  t.equal(other.statusCode, 400)
  const page = await app.services.audit.list({ type: 'login.failed' }, { limit: 1 })
  t.match(page.events[0], { ip: '192.0.2.44', user_id: victim.id })
  t.same(JSON.parse(page.events[0]!.details), { reason: 'invalid_credentials', failures_from_address: 1 })
})
