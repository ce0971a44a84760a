import t from 'tap'
import { UnavailableError } from '../../src/errors.js'
import { createPasswordHasher } from '../../src/users/passwords.js'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, passwordGrant, signUp } from '../helpers/flows.js'

t.test('hashes verify the password they were made from and nothing else', async (t) => {
  const hasher = createPasswordHasher({ cost: 4, concurrency: 2, queue: 10 })
  const hash = await hasher.hash('pässwörd 1')
  t.match(hash, /^\$2[aby]\$04\$/)
  t.equal(await hasher.verify('pässwörd 1', hash), true)
  t.equal(await hasher.verify('pässwörd 2', hash), false)
  t.equal(await hasher.verifyDummy('pässwörd 1'), false)
})

t.test('Unicode passwords are compared after NFC normalisation', async (t) => {
  const hasher = createPasswordHasher({ cost: 4, concurrency: 2, queue: 10 })
  const hash = await hasher.hash('caf\u00e9 au lait') // precomposed é
  t.equal(await hasher.verify('cafe\u0301 au lait', hash), true, 'decomposed e + combining accent')
})

t.test('compares beyond concurrency + queue are shed with 503 instead of piling up', async (t) => {
  const hasher = createPasswordHasher({ cost: 6, concurrency: 1, queue: 2 })
  const hash = await hasher.hash('password')
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => hasher.verify('password', hash)))
  const shed = results.filter((r) => r.status === 'rejected')
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 3, 'one running + two queued')
  t.equal(shed.length, 3)
  for (const r of shed) {
    const error = (r as PromiseRejectedResult).reason
    t.type(error, UnavailableError)
    t.equal(error.statusCode, 503)
    t.equal(error.headers['retry-after'], '1')
  }
  t.equal(await hasher.verify('password', hash), true, 'the limiter recovers once the burst is over')
})

t.test('a login burst past LOGIN_QUEUE gets 503 temporarily_unavailable with Retry-After', async (t) => {
  const { app } = await buildTestApp(t, { LOGIN_CONCURRENCY: '1', LOGIN_QUEUE: '0', BCRYPT_COST: '10' })
  const user = await signUp(app)
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => passwordGrant(app, { username: user.email, password: PASSWORD })),
  )
  const codes = answers.map((r) => r.statusCode).sort()
  t.same(codes, [200, 503, 503, 503])
  const shed = answers.find((r) => r.statusCode === 503)!
  t.equal(shed.json().error, 'temporarily_unavailable')
  t.equal(shed.headers['retry-after'], '1')
})
