import { rmSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { CORES, canPin, pinSelf } from './lib/child.js'
import { writeResults } from './lib/output.js'
import { settings } from './lib/settings.js'
import { round } from './lib/stats.js'
import { type Results, targetsOf } from './report.js'
import { badgeVsExpress } from './scenarios/express.js'
import { floor } from './scenarios/floor.js'
import { loginVsBcrypt } from './scenarios/login.js'
import { protectedVsBare } from './scenarios/protected.js'
import { refreshPostgres, refreshSqlite } from './scenarios/refresh.js'
import { verifyOps } from './scenarios/verify-ops.js'

// npm run bench [-- --quick] [-- --only=floor,verify,protected,express,refresh,login] [-- --note "..."]
// Full runs write bench/results.json and bench/RESULTS.md; --quick (the CI smoke mode)
// and --only runs write bench/results.quick.json and bench/RESULTS.quick.md instead.

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const noteIndex = argv.indexOf('--note')
const note = noteIndex >= 0 ? argv[noteIndex + 1] : process.env.BENCH_NOTE
const wanted = (name: string) => !only || only.includes(name)

const s = settings(quick)
const pinned = CORES >= 2 && pinSelf()
const started = performance.now()
const loadStart = loadavg()
const log = (line: string) =>
  process.stderr.write(`[bench ${round((performance.now() - started) / 1000, 1)}s] ${line}\n`)

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : only ? `only ${only.join(',')}` : 'full',
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: CORES,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    platform: `${process.platform} ${process.arch}`,
    pinned: pinned
      ? 'load generator on CPU 0, servers on CPU 1 (login server unpinned)'
      : 'no (taskset unavailable or one core)',
    loadAverage: { start: loadStart.map((n) => round(n)), end: [] },
    seconds: 0,
    note,
    settings: { ...s, dir: undefined },
  },
}

try {
  if (wanted('floor')) {
    log('floor: Badge vs bare Fastify, Fastify + jose and oidc-provider (server CPU per request)')
    results.floor = await floor(s)
  }
  if (wanted('verify')) {
    log('verify ops/s vs node:crypto')
    results.verify = await verifyOps(s)
  }
  if (wanted('protected')) {
    log('protected/bare')
    results.protected = await protectedVsBare(s)
  }
  if (wanted('express')) {
    log('badge/express')
    results.express = await badgeVsExpress(s)
  }
  if (wanted('refresh')) {
    log('refresh/s on SQLite')
    const sqlite = await refreshSqlite(s)
    const adminUrl = process.env.TEST_DATABASE_URL
    log(
      adminUrl ? 'refresh/s on PostgreSQL' : 'refresh/s on PostgreSQL skipped: TEST_DATABASE_URL is not set',
    )
    results.refresh = { sqlite, postgres: adminUrl ? await refreshPostgres(s, adminUrl) : undefined }
  }
  if (wanted('login')) {
    log('login/bcrypt-limit')
    results.login = await loginVsBcrypt(s)
  }
} finally {
  rmSync(s.dir, { recursive: true, force: true })
}

results.meta.seconds = round((performance.now() - started) / 1000, 1)
results.meta.loadAverage.end = loadavg().map((n) => round(n))
results.targets = targetsOf(results)
const [json, md] = writeResults(results, !quick && !only)
log(`wrote bench/${json} and bench/${md}${canPin ? '' : ' (taskset not found: nothing pinned)'}`)
// The smoke run's real check: every scenario exercised its success path.
const problems = [
  ...Object.entries(results.floor?.failed ?? {})
    .filter(([, n]) => n > 0)
    .map(([variant, n]) => `floor ${variant}: ${n} requests failed`),
  results.protected?.non2xx ? `protected/bare: ${results.protected.non2xx} requests failed` : '',
  results.express?.non2xx ? `badge/express: ${results.express.non2xx} requests failed` : '',
  results.refresh?.sqlite.failed
    ? `refresh on SQLite: ${results.refresh.sqlite.failed} rotations failed`
    : '',
  results.refresh?.postgres?.failed
    ? `refresh on PostgreSQL: ${results.refresh.postgres.failed} rotations failed`
    : '',
  results.login && !(results.login.loginsPerSecond > 0) ? 'login: no login succeeded' : '',
].filter(Boolean)
for (const problem of problems) log(`FAILED ${problem}`)
if (problems.length) process.exitCode = 1
for (const t of results.targets)
  log(`${t.met ? 'met   ' : 'MISSED'} ${t.label}: ${t.display} (target ${t.targetDisplay})`)
