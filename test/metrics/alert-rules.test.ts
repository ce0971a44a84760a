import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createMetrics } from '../../src/metrics/registry.js'

// The example alert rules of docs/deployment.md (docs/prometheus/badge-alerts.yml), checked
// with Prometheus' own promtool (Debian package "prometheus", installed by .ci/run).

const DIR = fileURLToPath(new URL('../../docs/prometheus/', import.meta.url))
const RULES = 'badge-alerts.yml'

const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' })

t.test('promtool check rules accepts the example alert rules', async (t) => {
  const result = promtool('check', 'rules', RULES)
  t.equal(result.error, undefined, 'promtool runs (apt-get install prometheus)')
  t.equal(result.status, 0, result.stdout + result.stderr)
  t.match(result.stdout, /SUCCESS: 12 rules found/)
})

t.test('the alerts fire on the series they watch (promtool test rules)', async (t) => {
  const result = promtool('test', 'rules', 'badge-alerts.test.yml')
  t.equal(result.status, 0, result.stdout + result.stderr)
  t.match(result.stdout, /SUCCESS/)
})

t.test('every badge_ series the rules name is one Badge exposes', async (t) => {
  const metrics = createMetrics()
  metrics.observe({
    clock: () => 0,
    loginQueue: () => ({ waiting: 0, running: 0 }),
    signingKeyActivatedAt: () => 0,
    verifyCache: () => ({ hits: 0, misses: 0 }),
    databasePool: () => ({ total: 1, idle: 1, waiting: 0 }),
    mailOutboxPending: async () => 0,
  })
  // Labelled counters appear once they have a value: give each one.
  metrics.http.route('/v1/me', 'GET')(200, 1)
  metrics.recorder.loginFailed('invalid_grant')
  metrics.recorder.rateLimited('token')
  metrics.recorder.refreshReuseDetected()
  metrics.recorder.tokenIssued('password')
  const exposed = new Set(
    (await metrics.registry.metrics())
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(/[{ ]/)[0]!),
  )
  const named = [...new Set(readFileSync(`${DIR}${RULES}`, 'utf8').match(/\b(badge|nodejs)_[a-z0-9_]+/g))]
  t.ok(named.length >= 9, `the rules name ${named.length} series`)
  t.strictSame(
    named.filter((name) => !exposed.has(name)),
    [],
    'no rule watches a series that does not exist (it could never fire)',
  )
})
