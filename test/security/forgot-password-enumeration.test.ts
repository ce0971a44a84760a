import t, { type Test } from 'tap'
import { ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, signUp, uniqueEmail } from '../helpers/flows.js'
import { deliverMail, startSmtpServer } from '../helpers/smtp.js'

// docs/contract.md §9: POST /v1/password/forgot answers known, unknown and disabled
// addresses with the same bytes in about the same time (the method of
// enumeration.test.ts: interleaved, shuffled rounds; medians within 30 %). No bcrypt runs
// here, so an answer takes milliseconds and a loaded machine's noise is large against
// it: more attempts and measurements than there. A real difference (the lookup and the
// outbox transaction before the answer for known accounts only) shows in every one.

const ATTEMPTS = 41
const MAX_MEDIAN_SPREAD = 0.3
const MEASUREMENTS = 5

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]!
}

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const { app } = await buildTestApp(t, { BCRYPT_COST: '10', MAIL_URL: smtp.url, ...ADMIN_ENV }, dialect)
  const known = await signUp(app)
  const disabled = await signUp(app)
  const patch = await app.inject({
    method: 'PATCH',
    url: `/v1/admin/users/${disabled.id}`,
    headers: bearer(await adminToken(app)),
    payload: { disabled: true },
  })
  t.equal(patch.statusCode, 200)
  const forgot = (email: string) =>
    app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email } })

  const cases = {
    'known account': () => forgot(known.email),
    'unknown email': () => forgot(uniqueEmail('nobody')),
    'disabled account': () => forgot(disabled.email),
  }

  await t.test('the three get byte-identical responses', async (t) => {
    const [first, ...rest] = await Promise.all(Object.values(cases).map((attempt) => attempt()))
    const { date: _date, ...headers } = first!.headers
    t.equal(first!.statusCode, 202)
    t.equal(first!.body, '{}')
    for (const res of rest) {
      const { date: _d, ...other } = res.headers
      t.same({ status: res.statusCode, headers: other, body: res.body }, { status: 202, headers, body: '{}' })
    }
  })

  async function measure(t: Test): Promise<Record<string, number>> {
    const timings: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
    for (let round = -2; round < ATTEMPTS; round++) {
      const order = Object.entries(cases).sort(() => Math.random() - 0.5)
      for (const [name, attempt] of order) {
        const start = process.hrtime.bigint()
        const res = await attempt()
        const elapsed = Number(process.hrtime.bigint() - start) / 1e6
        if (res.statusCode !== 202) t.fail(`${name}: ${res.statusCode}`)
        if (round >= 0) timings[name]!.push(elapsed)
        // Let the known account's background work finish outside the next timing.
        await deliverMail(app)
      }
    }
    return Object.fromEntries(Object.entries(timings).map(([name, ms]) => [name, median(ms)]))
  }

  await t.test(`they take the same time: medians of ${ATTEMPTS} attempts each within 30 %`, async (t) => {
    let spread = Number.POSITIVE_INFINITY
    for (let measurement = 1; measurement <= MEASUREMENTS && spread > MAX_MEDIAN_SPREAD; measurement++) {
      const medians = await measure(t)
      const values = Object.values(medians)
      spread = Math.max(...values) / Math.min(...values) - 1
      const rounded = JSON.stringify(medians, (_k, v) =>
        typeof v === 'number' ? Math.round(v * 100) / 100 : v,
      )
      t.comment(`measurement ${measurement}, median ms: ${rounded}, spread ${Math.round(spread * 100)} %`)
    }
    t.ok(spread <= MAX_MEDIAN_SPREAD, `medians differ by ${Math.round(spread * 100)} % (at most 30 %)`)
    const resets = (email: string) => smtp.mailsTo(email).filter((m) => m.subject === 'Reset your password')
    t.ok(resets(known.email).length > 0, 'the known account was mailed reset links')
    t.equal(resets(disabled.email).length, 0, 'the disabled one was not')
  })
})
