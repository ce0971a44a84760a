import { readFileSync } from 'node:fs'
import { BENCH_DIR, writeResults } from './lib/output.js'
import { type Results, targetsOf } from './report.js'

// npm run bench:render — rewrites bench/RESULTS.md from bench/results.json (after a change
// to the report's wording), without measuring again. `-- --quick` renders the quick files.

const quick = process.argv.includes('--quick')
const results = JSON.parse(
  readFileSync(`${BENCH_DIR}${quick ? 'results.quick.json' : 'results.json'}`, 'utf8'),
) as Results
results.targets = targetsOf(results)
const [, md] = writeResults(results, !quick)
process.stderr.write(`wrote bench/${md}\n`)
