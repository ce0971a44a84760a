import t from 'tap'
import { buildAppOn, eachDialect } from '../helpers/app.js'
import { createSharedDatabaseUrl } from '../helpers/databases.js'
import { login } from '../helpers/flows.js'
import { ADMIN_ENV, adminToken, claimsStatus, jwksKids, kidOf, rotate } from '../helpers/keys.js'

// Several instances share one database (docs/contract.md §2): a key rotated on one must be
// accepted by every other without a restart.

await eachDialect(t, async (t, dialect) => {
  const url = await createSharedDatabaseUrl(t, dialect)
  const first = (await buildAppOn(t, url, ADMIN_ENV)).app
  // Started before the rotation, so they hold only the original key.
  const second = (await buildAppOn(t, url, ADMIN_ENV)).app
  const third = (await buildAppOn(t, url, ADMIN_ENV)).app
  const fourth = (await buildAppOn(t, url, ADMIN_ENV)).app
  const [originalKid] = await jwksKids(second)
  t.same(await jwksKids(first), [originalKid], 'all instances start with the same key')

  const rotated = await rotate(first, await adminToken(first))
  t.equal(rotated.statusCode, 201)
  const newKid = rotated.json().kid as string
  const { tokens } = await login(first)
  t.equal(kidOf(tokens.access_token), newKid)

  await t.test('a second instance accepts a token signed after rotation on the first', async (t) => {
    t.notOk((await jwksKids(second)).includes(newKid), 'it did not know the key before')
    t.equal(await claimsStatus(second, tokens.access_token), 200)
    t.same(await jwksKids(second), [originalKid, newKid].sort(), 'and now publishes it')
    const { tokens: own } = await login(second)
    t.equal(kidOf(own.access_token), newKid, 'and signs with it')
  })

  await t.test('a burst of such tokens arriving together is accepted by every request', async (t) => {
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => claimsStatus(third, tokens.access_token)),
    )
    t.same(statuses, Array(8).fill(200))
  })

  await t.test('the periodic reload brings the key to an instance that has seen no token', async (t) => {
    t.same(await jwksKids(fourth), [originalKid!])
    await fourth.services.maintenance.run()
    t.same(await jwksKids(fourth), [originalKid, newKid].sort())
  })
})
