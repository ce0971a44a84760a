// Writes openapi.yaml from the routes' zod schemas (`npm run openapi`).
// `--check` exits 1 if the committed file differs from what the code generates.
import { readFileSync, writeFileSync } from 'node:fs'
import { generateOpenApiYaml } from './openapi-document.js'

const file = new URL('../openapi.yaml', import.meta.url)
const generated = await generateOpenApiYaml()
if (process.argv.includes('--check')) {
  const committed = readFileSync(file, 'utf8')
  if (committed !== generated) {
    process.stderr.write('openapi.yaml is out of date: run `npm run openapi` and commit the result.\n')
    process.exit(1)
  }
} else {
  writeFileSync(file, generated)
  process.stdout.write('wrote openapi.yaml\n')
}
