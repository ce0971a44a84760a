import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateOpenApiYaml } from '../../scripts/openapi-document.js'
import { buildTestApp } from '../helpers/app.js'

t.test('the committed openapi.yaml is exactly what the code generates (run `npm run openapi`)', async (t) => {
  const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')
  t.equal(committed, await generateOpenApiYaml())
})

t.test('/openapi.json serves the same document', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().openapi, '3.1.0')
  t.ok(res.json().paths['/oauth/token'])
})
