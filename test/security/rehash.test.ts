import t from 'tap'
import { buildAppOn, eachDialect } from '../helpers/app.js'
import { createSharedDatabaseUrl } from '../helpers/databases.js'
import { PASSWORD, passwordGrant, signUp, uniqueEmail } from '../helpers/flows.js'

// Issue 13 item 6: raising BCRYPT_COST must not make old hashes a timing oracle (a wrong
// guess against a cheap old hash answered far faster than an unknown email), and a
// successful login upgrades the hash to the configured cost.

async function timed(run: () => Promise<{ statusCode: number }>) {
  const started = performance.now()
  const res = await run()
  return { ms: performance.now() - started, status: res.statusCode }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'an old cheaper hash costs what an unknown email costs, and is upgraded on login',
    async (t) => {
      const url = await createSharedDatabaseUrl(t, dialect)
      const before = await buildAppOn(t, url, { BCRYPT_COST: '4' })
      const user = await signUp(before.app, uniqueEmail('rehash'))
      const { app } = await buildAppOn(t, url, { BCRYPT_COST: '12' })
      const known: number[] = []
      const unknown: number[] = []
      for (let i = 0; i < 3; i++) {
        const k = await timed(() => passwordGrant(app, { username: user.email, password: 'wrong password' }))
        const u = await timed(() =>
          passwordGrant(app, { username: uniqueEmail('nobody'), password: 'wrong' }),
        )
        t.equal(k.status, 400)
        t.equal(u.status, 400)
        known.push(k.ms)
        unknown.push(u.ms)
      }
      t.ok(
        median(known) >= median(unknown) * 0.5,
        `a wrong guess on a cost-4 hash (${median(known).toFixed(0)} ms) is not much faster than an unknown email (${median(unknown).toFixed(0)} ms)`,
      )
      t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
      const row = await app.services.users.findById(user.id)
      t.match(row?.password_hash, /^\$2[aby]\$12\$/, 'rehashed at BCRYPT_COST=12')
      t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
    },
  )
})
