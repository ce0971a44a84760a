import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { createPasswordHasher } from '../../src/users/passwords.js'

// bcrypt runs on worker threads of lowered priority (docs/performance.md: "bcrypt off the
// event loop's way"). The answers must be bcrypt's, and the threads must really be niced.

/** Nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    // Fields after the parenthesised command name; "state" is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[19 - 3])
  })
}

t.test('hashes and checks passwords on the bcrypt threads', async (t) => {
  const hasher = createPasswordHasher({ cost: 4, concurrency: 2, queue: 16 })
  const hash = await hasher.hash('correct horse battery staple')
  t.match(hash, /^\$2b\$04\$/)
  t.equal(await hasher.verify('correct horse battery staple', hash), true)
  t.equal(await hasher.verify('correct horse battery stapler', hash), false)
  t.equal(await hasher.verifyDummy('anything'), false)
  // More checks than threads at once: every one answered, each with its own result.
  const guesses = Array.from({ length: 9 }, (_, i) =>
    i % 3 === 0 ? 'correct horse battery staple' : `guess ${i}`,
  )
  const results = await Promise.all(guesses.map((guess) => hasher.verify(guess, hash)))
  t.same(
    results,
    guesses.map((guess) => guess === 'correct horse battery staple'),
  )
  t.same(hasher.load(), { waiting: 0, running: 0 }, 'nothing left running or waiting')
})

t.test(
  'the bcrypt threads run at lowered priority, the event loop at normal',
  { skip: process.platform !== 'linux' && 'per-thread nice values are read from Linux /proc' },
  async (t) => {
    const hasher = createPasswordHasher({ cost: 4, concurrency: 2, queue: 16 })
    await Promise.all([hasher.hash('one password'), hasher.hash('another password')])
    const nice = threadNiceValues()
    t.equal(nice[0], 0, 'the main thread keeps its priority')
    const lowered = nice.filter((n) => n === 10).length
    t.ok(lowered >= 1 && lowered <= 2, `one or two bcrypt threads at nice 10 (saw ${nice.join(',')})`)
  },
)
