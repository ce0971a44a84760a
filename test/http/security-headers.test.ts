import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

// Every answer carries helmet's security headers — success, 404, a bearer refusal, a
// validation error — with the API's CSP, and /docs alone gets its own CSP. The headers
// are computed once at start-up (src/http/security-headers.ts), so this pins what a
// browser or scanner sees.

const API_CSP = "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'"
const EXPECTED: Record<string, string> = {
  'content-security-policy': API_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
}

t.test('every kind of answer carries the security headers', async (t) => {
  const { app } = await buildTestApp(t)
  const answers = {
    'a 200': await app.inject({ url: '/health/live' }),
    'a 404': await app.inject({ url: '/no/such/route' }),
    'a bearer 401': await app.inject({ url: '/v1/me' }),
    'a validation 400': await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email: 'not an email' },
    }),
    'a 415': await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    }),
  }
  for (const [name, res] of Object.entries(answers)) {
    for (const [header, value] of Object.entries(EXPECTED))
      t.equal(res.headers[header], value, `${name}: ${header}`)
    t.notOk(res.headers['x-powered-by'], `${name}: no x-powered-by`)
  }
  t.equal(answers['a bearer 401'].statusCode, 401)
  t.equal(answers['a 415'].statusCode, 415)
})

t.test('the docs pages get their own CSP and every other security header', async (t) => {
  const { app } = await buildTestApp(t)
  for (const url of ['/docs', '/docs/static/index.css']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /script-src 'self'/, url)
    t.not(csp, API_CSP, url)
    for (const [header, value] of Object.entries(EXPECTED))
      if (header !== 'content-security-policy') t.equal(res.headers[header], value, `${url}: ${header}`)
  }
  // The docs hook is encapsulated: the API keeps its policy after /docs was served.
  t.equal((await app.inject({ url: '/health/live' })).headers['content-security-policy'], API_CSP)
})
