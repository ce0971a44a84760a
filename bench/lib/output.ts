import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { renderMarkdown } from '../markdown.js'
import type { Results } from '../report.js'

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))

/** Writes results.json and RESULTS.md (or their .quick twins) laid out as biome would, so lint stays clean. */
export function writeResults(results: Results, committed: boolean): [string, string] {
  const [json, md] = committed ? ['results.json', 'RESULTS.md'] : ['results.quick.json', 'RESULTS.quick.md']
  writeFileSync(`${BENCH_DIR}${json}`, `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(`${BENCH_DIR}${md}`, renderMarkdown(results))
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome')
  spawnSync(process.execPath, [biome, 'format', '--write', `${BENCH_DIR}${json}`, `${BENCH_DIR}${md}`], {
    stdio: 'ignore',
  })
  return [json, md]
}
