import t from 'tap'
import { RevokedSet } from '../../src/verify/revoked-set.js'

// The revoked set behind every bearer check (docs/revocation.md): which tokens it refuses,
// that it forgets entries whose tokens have all expired, and that its memory is bounded.

const session = (sid: string, expires_at = 2000) =>
  ({ type: 'session', sid, revoked_at: 1000, expires_at }) as const
const user = (sub: string, not_before: number, expires_at = 2000) =>
  ({ type: 'user', sub, not_before, expires_at }) as const

t.test('a listed sid is refused whatever its iat; other sessions pass', async (t) => {
  const set = new RevokedSet()
  t.equal(set.add(session('s1')), true)
  t.equal(set.isRevoked('u1', 's1', 5000), true)
  t.equal(set.isRevoked('u1', 's2', 5000), false)
  t.equal(set.isRevoked('u1', undefined, 5000), false)
  t.equal(set.add(session('s1')), false, 'adding it again changes nothing')
})

t.test(
  'a user cut-off refuses tokens issued before it, not those issued in or after its second',
  async (t) => {
    const set = new RevokedSet()
    set.add(user('u1', 1000))
    t.equal(set.isRevoked('u1', undefined, 999), true)
    t.equal(set.isRevoked('u1', undefined, 1000), false)
    t.equal(set.isRevoked('u2', undefined, 999), false)
    t.equal(set.add(user('u1', 900)), false, 'an earlier cut-off changes nothing')
    t.equal(set.add(user('u1', 1100)), true, 'a later one moves it')
    t.equal(set.isRevoked('u1', undefined, 1050), true)
  },
)

t.test('prune forgets entries whose tokens have all expired', async (t) => {
  const set = new RevokedSet()
  set.add(session('old', 1500))
  set.add(session('new', 2500))
  set.add(user('u1', 1000, 1500))
  set.prune(1500)
  t.equal(set.size, 1)
  t.equal(set.isRevoked('u1', 'new', 0), true)
  t.equal(set.isRevoked('u1', 'old', 0), false)
})

t.test('past maxEntries new keys are refused and counted, never kept', async (t) => {
  const set = new RevokedSet(2)
  set.add(session('a'))
  set.add(user('u', 10))
  t.equal(set.add(session('b')), false)
  t.equal(set.size, 2)
  t.equal(set.overflowed, 1)
})
