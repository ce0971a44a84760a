import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildSecondInstance, buildTestApp, eachDialect } from '../helpers/app.js'
import { login, refreshGrant } from '../helpers/flows.js'

// docs/contract.md §4 under concurrency: parallel refreshes of one token, on one instance or
// split across two sharing a database, yield exactly one successor; a spent token
// presented after the grace window revokes the family wherever it was rotated.

const GRACE_MS = 10_000

async function refreshAll(apps: FastifyInstance[], token: string, count: number) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) => refreshGrant(apps[i % apps.length]!, token)),
  )
  return responses.map((r) => ({ status: r.statusCode, body: r.json() }))
}

await eachDialect(t, async (t, dialect) => {
  await t.test('20 parallel refreshes of one token all get the same successor', async (t) => {
    const { app } = await buildTestApp(t, {}, dialect)
    const { tokens } = await login(app)
    const results = await refreshAll([app], tokens.refresh_token, 20)
    t.same(
      results.map((r) => r.status),
      Array(20).fill(200),
    )
    const successors = new Set(results.map((r) => r.body.refresh_token))
    t.equal(successors.size, 1, 'exactly one successor')
    const [successor] = successors
    t.not(successor, tokens.refresh_token)
    t.equal((await refreshGrant(app, successor!)).statusCode, 200, 'the family is alive')
  })

  if (dialect.name !== 'postgres') return

  await t.test('20 parallel refreshes split over two instances yield exactly one successor', async (t) => {
    const a = await buildTestApp(t, {}, dialect)
    const b = await buildSecondInstance(t, a)
    const { tokens } = await login(a.app)
    const results = await refreshAll([a.app, b.app], tokens.refresh_token, 20)
    t.same(
      results.map((r) => r.status),
      Array(20).fill(200),
    )
    const successors = new Set(results.map((r) => r.body.refresh_token))
    t.equal(successors.size, 1, 'exactly one successor')
    const rows = await a.database.db
      .selectFrom('refresh_tokens')
      .select(['rotated_at'])
      .where('session_id', '=', await sessionOf(a.app, tokens.access_token))
      .execute()
    t.equal(rows.length, 2, 'the family holds the spent token and one successor')
    const next = await refreshGrant(b.app, [...successors][0]!)
    t.equal(next.statusCode, 200, 'the family is alive on the other instance')
  })

  await t.test('reuse on instance B revokes a family rotated on instance A', async (t) => {
    const a = await buildTestApp(t, {}, dialect)
    const b = await buildSecondInstance(t, a)
    const { tokens } = await login(a.app)
    const rotated = await refreshGrant(a.app, tokens.refresh_token)
    t.equal(rotated.statusCode, 200)
    const successor = rotated.json().refresh_token as string

    b.clock.advance(GRACE_MS + 1000)
    const reuse = await refreshGrant(b.app, tokens.refresh_token)
    t.equal(reuse.statusCode, 400)
    t.equal(reuse.json().error, 'invalid_grant')

    const afterTheft = await refreshGrant(a.app, successor)
    t.equal(afterTheft.statusCode, 400, 'the successor died with its family')
    t.equal(afterTheft.json().error, 'invalid_grant')
  })
})

async function sessionOf(app: FastifyInstance, accessToken: string): Promise<string> {
  const res = await app.inject({ url: '/v1/me/claims', headers: { authorization: `Bearer ${accessToken}` } })
  return res.json().sid
}
