import { spawnSync } from 'node:child_process'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { freePort, startServer } from '../helpers/server.js'

// The metrics listener of a real server (src/server.ts): what an operator's Prometheus
// scrapes, after logins, refreshes, failures, a reuse detection and a rate limit.

type Samples = Map<string, number>

/** Series as `name{labels}` (labels in exposition order) to value. */
function parse(text: string): Samples {
  const samples: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

const value = (samples: Samples, series: string) => samples.get(series) ?? 0

async function scrape(metricsUrl: string) {
  const res = await fetch(metricsUrl)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  return { text, samples: parse(text) }
}

function form(fields: Record<string, string>) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  }
}

t.test(
  'counters move by exactly what a session of traffic did, and promtool accepts the exposition',
  async (t) => {
    const metricsPort = await freePort()
    const server = await startServer(t, {
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      REFRESH_REUSE_GRACE_SECONDS: '0',
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_SIGNUP: '2/1h',
    })
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
    const before = (await scrape(metricsUrl)).samples

    const email = uniqueEmail('metrics')
    t.equal((await fetch(`${server.url}/v1/users`, signUpBody(email))).status, 201)
    const login = () =>
      fetch(
        `${server.url}/oauth/token`,
        form({ grant_type: 'password', username: email, password: PASSWORD }),
      )
    const first = await login()
    t.equal(first.status, 200)
    t.equal((await login()).status, 200)
    for (let i = 0; i < 3; i++) {
      const wrong = await fetch(
        `${server.url}/oauth/token`,
        form({ grant_type: 'password', username: email, password: 'not the password' }),
      )
      t.equal(wrong.status, 400)
    }
    const tokens = (await first.json()) as { access_token: string; refresh_token: string }
    const refresh = (token: string) =>
      fetch(`${server.url}/oauth/token`, form({ grant_type: 'refresh_token', refresh_token: token }))
    t.equal((await refresh(tokens.refresh_token)).status, 200)
    const reused = await refresh(tokens.refresh_token)
    t.equal(reused.status, 400)
    t.equal(((await reused.json()) as { error: string }).error, 'invalid_grant')

    // One access token checked three times: one signature check, then two cache hits.
    const other = (await (await login()).json()) as { access_token: string }
    for (let i = 0; i < 3; i++) {
      const me = await fetch(`${server.url}/v1/me`, {
        headers: { authorization: `Bearer ${other.access_token}` },
      })
      t.equal(me.status, 200)
    }
    // The signup limit is 2 per hour per address: the second is allowed, the third refused.
    t.equal((await fetch(`${server.url}/v1/users`, signUpBody(uniqueEmail('metrics')))).status, 201)
    t.equal((await fetch(`${server.url}/v1/users`, signUpBody(uniqueEmail('metrics')))).status, 429)
    // A URL no route matches, carrying something that must never become a label.
    const secretish = `/v1/nothing/${email}`
    t.equal((await fetch(`${server.url}${secretish}`)).status, 404)

    const { text, samples: after } = await scrape(metricsUrl)
    const moved = (series: string) => value(after, series) - value(before, series)
    t.equal(moved('badge_tokens_issued_total{grant="password"}'), 3, 'three logins issued tokens')
    t.equal(moved('badge_tokens_issued_total{grant="refresh_token"}'), 1, 'one refresh issued tokens')
    t.equal(moved('badge_login_failures_total{reason="invalid_grant"}'), 3, 'three wrong passwords')
    t.equal(moved('badge_refresh_reuse_detected_total'), 1, 'one reuse detected')
    t.equal(moved('badge_rate_limited_total{limit="signup"}'), 1, 'one signup refused by its limit')
    t.equal(moved('badge_verify_cache_requests_total{result="miss"}'), 1)
    t.equal(moved('badge_verify_cache_requests_total{result="hit"}'), 2)
    t.equal(moved('badge_http_requests_total{route="/v1/me",method="GET",status="200"}'), 3)
    t.equal(moved('badge_http_requests_total{route="/oauth/token",method="POST",status="200"}'), 4)
    t.equal(moved('badge_http_requests_total{route="/oauth/token",method="POST",status="400"}'), 4)
    t.equal(moved('badge_http_requests_total{route="/v1/users",method="POST",status="429"}'), 1)
    t.equal(moved('badge_http_requests_total{route="unmatched",method="GET",status="404"}'), 1)
    t.equal(
      moved('badge_http_request_duration_seconds_count{route="/v1/me",method="GET",status="200"}'),
      3,
      'the histogram counts the same requests',
    )
    t.equal(
      value(
        after,
        'badge_http_request_duration_seconds_bucket{route="/v1/me",method="GET",status="200",le="+Inf"}',
      ),
      value(after, 'badge_http_request_duration_seconds_count{route="/v1/me",method="GET",status="200"}'),
    )
    t.notOk(text.includes(email) || text.includes('example.com'), 'no email or raw URL in any label')
    t.equal(value(after, 'badge_login_queue_depth'), 0, 'no bcrypt check waits once the logins are done')
    t.ok(after.has('badge_signing_key_age_seconds'), 'the signing key age is exposed')
    t.ok(value(after, 'badge_signing_key_age_seconds') >= 0)
    t.notOk(after.has('badge_db_pool_waiting'), 'SQLite has no pool to report')
    t.ok(after.has('process_cpu_user_seconds_total'), 'the default Node process metrics are there')
    t.ok(after.has('nodejs_eventloop_lag_seconds'))

    // A real parser: Prometheus' own promtool (Debian package "prometheus", installed by .ci/run).
    // It exits 1 when the text does not parse and 3 for naming lint findings; prom-client's
    // default metrics carry three such findings (gauges named *_total), Badge's own none.
    const promtool = (input: string) =>
      spawnSync('promtool', ['check', 'metrics'], { input, encoding: 'utf8' })
    const checked = promtool(text)
    t.equal(checked.error, undefined, 'promtool runs (apt-get install prometheus)')
    t.ok(
      checked.status === 0 || checked.status === 3,
      `promtool parsed it: ${checked.stdout}${checked.stderr}`,
    )
    const findings = `${checked.stdout}${checked.stderr}`.split('\n').filter((line) => line.trim() !== '')
    t.strictSame(
      findings.map((line) => line.split(' ')[0]).sort(),
      checked.status === 0
        ? []
        : ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'],
      'the only lint findings are prom-client defaults, none on a badge_ series',
    )
    t.equal(
      promtool(`${text}badge_broken{route="x" 1\n`).status,
      1,
      'the same check refuses a malformed line',
    )

    // Not on the API's port: the series stay on the operator's listener.
    t.equal((await fetch(`${server.url}/metrics`)).status, 404)
    t.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404)

    // The scraper's kept-alive connection does not hold up a shutdown.
    const exited = new Promise((resolve) => server.process.once('exit', resolve))
    server.process.kill('SIGTERM')
    t.equal(await exited, 0, 'SIGTERM with the metrics listener open exits 0')
  },
)

function signUpBody(email: string) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  }
}

t.test('metrics are off unless METRICS_PORT is set, and listen on loopback by default', async (t) => {
  t.equal(loadConfig({}).metrics, undefined)
  t.strictSame(loadConfig({ METRICS_PORT: '9464' }).metrics, { port: 9464, host: '127.0.0.1' })
  t.throws(() => loadConfig({ METRICS_PORT: 'yes' }), { message: /^Invalid configuration: METRICS_PORT / })
})
