// Writes openapi.yaml from the routes' zod schemas, and the TypeScript client types
// generated from it (`npm run openapi`). `--check` exits 1 if a committed file
// differs from what the code generates.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { CLIENT_TYPES_FILE, generateClientTypes } from './client-types.js'
import { generateOpenApiYaml } from './openapi-document.js'

const yamlFile = new URL('../openapi.yaml', import.meta.url)
const yaml = await generateOpenApiYaml()
const files: Array<[URL, string]> = [
  [yamlFile, yaml],
  [CLIENT_TYPES_FILE, await generateClientTypes(yaml)],
]
if (process.argv.includes('--check')) {
  let stale = false
  for (const [file, generated] of files) {
    if (readFileSync(file, 'utf8') !== generated) {
      process.stderr.write(
        `${file.pathname} is out of date: run \`npm run openapi\` and commit the result.\n`,
      )
      stale = true
    }
  }
  process.exit(stale ? 1 : 0)
}
for (const [file, generated] of files) {
  mkdirSync(new URL('.', file), { recursive: true })
  writeFileSync(file, generated)
  process.stdout.write(`wrote ${file.pathname}\n`)
}
