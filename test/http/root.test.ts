import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

// GET / points at the documentation instead of a bare 404.

t.test('GET / names Badge, its version, and where the docs and metadata are', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  t.same(res.json(), {
    name: 'Badge',
    version: pkg.version,
    docs: '/docs',
    openapi: '/openapi.json',
    metadata: '/.well-known/oauth-authorization-server',
    jwks: '/.well-known/jwks.json',
  })
  for (const link of ['docs', 'openapi', 'metadata', 'jwks'])
    t.equal((await app.inject({ url: res.json()[link] })).statusCode, 200, `${link} answers`)
})
