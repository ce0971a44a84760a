import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startServer } from '../helpers/server.js'

// The README's curl walkthrough must work verbatim against a fresh server. Only the
// address changes: the test server listens on a free port instead of 3000.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const block = /<!-- walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme)?.[1]

t.test('the README curl walkthrough works on a fresh server', async (t) => {
  t.ok(block, 'the README has a walkthrough block')
  const server = await startServer(t)
  // Appended: print the refresh token step 4 obtained, to prove the refresh worked.
  const script = `${block!.replaceAll('http://localhost:3000', server.url)}\necho "$REFRESH"`
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', timeout: 60_000 })
  t.equal(result.status, 0, result.stderr)
  const [signup, me, logout, refreshed] = result.stdout.trim().split('\n')
  t.equal(JSON.parse(signup!).email, 'ada@example.com', 'sign-up printed the new user')
  t.same(JSON.parse(me!), JSON.parse(signup!), '/v1/me printed the same user')
  t.equal(logout, '200', 'logout answered 200')
  t.match(refreshed, /^[A-Za-z0-9_-]{43}$/, 'step 4 obtained a new refresh token')
})
